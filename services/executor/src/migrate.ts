import { createLogger, runMain } from "@meridian/service-kit";
import { loadExecutorConfig } from "./config.js";
import { migrate } from "./service.js";

runMain("executor", async () => {
  const config = loadExecutorConfig();
  const logger = createLogger({ service: "executor", level: config.LOG_LEVEL });
  await migrate(config, logger);
  process.exit(0);
});
