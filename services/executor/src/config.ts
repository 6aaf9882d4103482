import { hostname } from "node:os";
import Joi from "joi";
import { commonConfig, JoiEnv, loadConfig, type CommonConfig, type DatabaseConfig, databaseConfig } from "@meridian/service-kit";

export interface ExecutorConfig extends CommonConfig, DatabaseConfig {
  EXECUTOR_ID: string;
  ACK_WAIT_MS: number;
  MAX_CONCURRENCY: number;
  RECONCILE_INTERVAL_MS: number;
  HTTP_ALLOW_LIST: string[];
  /** Run queued tasks; off for a replica that only answers API requests. */
  CONSUME: boolean;
}

const schema = Joi.object<ExecutorConfig>({
  ...commonConfig,
  ...databaseConfig,
  // Claims, outcomes and events run concurrently with the API: at least two connections.
  DB_POOL_SIZE: databaseConfig.DB_POOL_SIZE.min(2),
  EXECUTOR_ID: Joi.string().pattern(/^[A-Za-z0-9._-]{1,64}$/).default(`${hostname()}-${process.pid}`),
  ACK_WAIT_MS: Joi.number().integer().min(1000).max(600_000).default(30_000),
  MAX_CONCURRENCY: Joi.number().integer().min(1).max(1000).default(32),
  RECONCILE_INTERVAL_MS: Joi.number().integer().min(100).max(60_000).default(2000),
  HTTP_ALLOW_LIST: JoiEnv.csv().items(Joi.string()).default([]),
  CONSUME: Joi.boolean().default(true),
});

export function loadExecutorConfig(env: Record<string, string | undefined> = process.env): Readonly<ExecutorConfig> {
  return loadConfig("executor", schema, env);
}
