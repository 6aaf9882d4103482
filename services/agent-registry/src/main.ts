import { runMain } from "@meridian/service-kit";
import { loadAgentRegistryConfig } from "./config.js";
import { start } from "./service.js";

runMain("agent-registry", () => start(loadAgentRegistryConfig()));
