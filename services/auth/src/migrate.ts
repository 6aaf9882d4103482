import { createLogger, runMain } from "@meridian/service-kit";
import { loadAuthConfig } from "./config.js";
import { migrate } from "./service.js";

runMain("auth", async () => {
  const config = loadAuthConfig();
  const logger = createLogger({ service: "auth", level: config.LOG_LEVEL });
  await migrate(config, logger);
  process.exit(0);
});
