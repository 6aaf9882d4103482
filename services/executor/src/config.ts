import { hostname } from "node:os";
import Joi from "joi";
import { commonConfig, JoiEnv, loadConfig } from "@meridian/service-kit";

export interface ExecutorConfig {
  NODE_ENV: string;
  LOG_LEVEL: string;
  NATS_URL: string;
  NATS_REQUEST_TIMEOUT_MS: number;
  SHUTDOWN_GRACE_MS: number;
  DATABASE_URL: string;
  DB_POOL_SIZE: number;
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
  DATABASE_URL: Joi.string().uri({ scheme: ["postgres", "postgresql"] }).required(),
  DB_POOL_SIZE: Joi.number().integer().min(2).max(100).default(10),
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
