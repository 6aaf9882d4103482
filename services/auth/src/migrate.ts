import { loadMigrationConfig, runMain, serviceLogger } from "@meridian/service-kit";
import { migrate } from "./service.js";

runMain("auth", async () => {
  const config = loadMigrationConfig("auth");
  await migrate(config, serviceLogger("auth", config.LOG_LEVEL));
  process.exit(0);
});
