import { createLogger, runMain } from "@meridian/service-kit";
import { loadAgentRegistryConfig } from "./config.js";
import { migrate } from "./service.js";

runMain("agent-registry", async () => {
  const config = loadAgentRegistryConfig();
  const logger = createLogger({ service: "agent-registry", level: config.LOG_LEVEL });
  await migrate(config, logger);
  process.exit(0);
});
