import { runMain } from "@meridian/service-kit";
import { loadExecutorConfig } from "./config.js";
import { start } from "./service.js";

runMain("executor", () => start(loadExecutorConfig()));
