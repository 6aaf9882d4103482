import { loadMigrationConfig, runMain, serviceLogger } from "@meridian/service-kit";
import { migrate } from "./service.js";

runMain("agent-registry", async () => {
  const config = loadMigrationConfig("agent-registry");
  await migrate(config, serviceLogger("agent-registry", config.LOG_LEVEL));
  process.exit(0);
});
