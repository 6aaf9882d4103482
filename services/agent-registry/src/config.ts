import Joi from "joi";
import { commonConfig, loadConfig, type CommonConfig, type DatabaseConfig, databaseConfig } from "@meridian/service-kit";

export interface AgentRegistryConfig extends CommonConfig, DatabaseConfig {
}

const schema = Joi.object<AgentRegistryConfig>({
  ...commonConfig,
  ...databaseConfig,
});

/** Read once at start. */
export function loadAgentRegistryConfig(env: Record<string, string | undefined> = process.env): Readonly<AgentRegistryConfig> {
  return loadConfig("agent-registry", schema, env);
}
