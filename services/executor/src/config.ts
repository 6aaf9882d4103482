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
  /** A result larger than this fails its task (RESULT_TOO_LARGE); results are stored in PostgreSQL. */
  MAX_RESULT_BYTES: number;
  /** A user's queued (not yet started) tasks beyond this are refused with TOO_MANY_QUEUED_TASKS; 0 turns the cap off. */
  MAX_QUEUED_TASKS_PER_USER: number;
  /** Results up to this size travel inside the `succeeded` event; larger ones are read with GET /tasks/{id}. */
  EVENT_RESULT_INLINE_BYTES: number;
  /** Log lines and progress messages are cut to this many characters. */
  MAX_LOG_CHARS: number;
  /** Finished tasks (with their logs, events and idempotency keys) are deleted this many days after they finished; 0 keeps them. */
  TASK_RETENTION_DAYS: number;
  /** How often one replica prunes (tasks, and queue consumers of deleted agents). */
  RETENTION_INTERVAL_MS: number;
}

const schema = Joi.object<ExecutorConfig>({
  ...commonConfig,
  ...databaseConfig,
  // Claims, outcomes and events run concurrently with the API: at least two connections.
  // Each running attempt needs a connection for its claim and its outcome: room for a replica's slots.
  DB_POOL_SIZE: databaseConfig.DB_POOL_SIZE.min(2).default(20),
  EXECUTOR_ID: Joi.string().pattern(/^[A-Za-z0-9._-]{1,64}$/).default(`${hostname()}-${process.pid}`),
  ACK_WAIT_MS: Joi.number().integer().min(1000).max(600_000).default(30_000),
  MAX_CONCURRENCY: Joi.number().integer().min(1).max(1000).default(32),
  RECONCILE_INTERVAL_MS: Joi.number().integer().min(100).max(60_000).default(2000),
  HTTP_ALLOW_LIST: JoiEnv.csv().items(Joi.string()).default([]),
  CONSUME: Joi.boolean().default(true),
  MAX_QUEUED_TASKS_PER_USER: Joi.number().integer().min(0).max(10_000_000).default(10_000),
  MAX_RESULT_BYTES: Joi.number().integer().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  EVENT_RESULT_INLINE_BYTES: Joi.number().integer().min(0).max(512 * 1024).default(64 * 1024),
  MAX_LOG_CHARS: Joi.number().integer().min(100).max(100_000).default(8192),
  TASK_RETENTION_DAYS: Joi.number().integer().min(0).max(3650).default(30),
  RETENTION_INTERVAL_MS: Joi.number().integer().min(1000).max(86_400_000).default(3_600_000),
});

export function loadExecutorConfig(env: Record<string, string | undefined> = process.env): Readonly<ExecutorConfig> {
  return loadConfig("executor", schema, env);
}
