import { loadMigrationConfig, runMain, serviceLogger } from "@meridian/service-kit";
import { migrate } from "./service.js";

runMain("executor", async () => {
  const config = loadMigrationConfig("executor");
  await migrate(config, serviceLogger("executor", config.LOG_LEVEL));
  process.exit(0);
});
