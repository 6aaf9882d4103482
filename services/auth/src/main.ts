import { runMain } from "@meridian/service-kit";
import { loadAuthConfig } from "./config.js";
import { start } from "./service.js";

runMain("auth", () => start(loadAuthConfig()));
