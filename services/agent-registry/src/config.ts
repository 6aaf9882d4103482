import Joi from "joi";
import { commonConfig, loadConfig, type CommonConfig, type DatabaseConfig, databaseConfig } from "@meridian/service-kit";

export interface AgentRegistryConfig extends CommonConfig, DatabaseConfig {
  /** How often leftover events are republished, and how old an event must be to count as left over. */
  EVENT_REPUBLISH_INTERVAL_MS: number;
}

const schema = Joi.object<AgentRegistryConfig>({
  ...commonConfig,
  ...databaseConfig,
  EVENT_REPUBLISH_INTERVAL_MS: Joi.number().integer().min(50).max(600_000).default(5000),
});

/** Read once at start. */
export function loadAgentRegistryConfig(env: Record<string, string | undefined> = process.env): Readonly<AgentRegistryConfig> {
  return loadConfig("agent-registry", schema, env);
}
