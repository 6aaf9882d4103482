import Joi from "joi";
import { commonConfig, loadConfig } from "@meridian/service-kit";

export interface AgentRegistryConfig {
  NODE_ENV: string;
  LOG_LEVEL: string;
  NATS_URL: string;
  NATS_REQUEST_TIMEOUT_MS: number;
  SHUTDOWN_GRACE_MS: number;
  DATABASE_URL: string;
  DB_POOL_SIZE: number;
}

const schema = Joi.object<AgentRegistryConfig>({
  ...commonConfig,
  DATABASE_URL: Joi.string().uri({ scheme: ["postgres", "postgresql"] }).required(),
  DB_POOL_SIZE: Joi.number().integer().min(1).max(100).default(10),
});

/** Read once at start. */
export function loadAgentRegistryConfig(env: Record<string, string | undefined> = process.env): Readonly<AgentRegistryConfig> {
  return loadConfig("agent-registry", schema, env);
}
