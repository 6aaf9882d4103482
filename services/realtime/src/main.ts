import { runMain } from "@meridian/service-kit";
import { loadRealtimeConfig } from "./config.js";
import { start } from "./service.js";

runMain("realtime", () => start(loadRealtimeConfig()));
