import { hostname } from "node:os";
import Joi from "joi";
import { commonConfig, JoiEnv, loadConfig, type CommonConfig } from "@meridian/service-kit";

export interface RealtimeConfig extends CommonConfig {
  HOST: string;
  PORT: number;
  REDIS_URL: string;
  CORS_ORIGINS: string[];
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  REPLICA_ID: string;
  /** A socket with more queued packets than this is too slow: it is disconnected and may resume with `since`. */
  SLOW_CLIENT_MAX_BUFFERED: number;
  /** A task's later event waits this long for a missing one before the stream's history is read for it. */
  REORDER_HOLD_MS: number;
  /** A missing event not found after this long: the later ones go out without it. */
  REORDER_MAX_HOLD_MS: number;
  /** Tasks and agents one socket may follow at once. */
  SOCKET_MAX_SUBSCRIPTIONS: number;
  /** Token bucket per socket for the events it sends: refill per second and burst size. */
  SOCKET_EVENTS_PER_SECOND: number;
  SOCKET_EVENTS_BURST: number;
  /** A socket refused this many events in a row for its rate is disconnected. */
  SOCKET_ABUSE_LIMIT: number;
}

const schema = Joi.object<RealtimeConfig>({
  ...commonConfig,
  // Behind the gateway: reachable from this machine only unless told otherwise (k8s sets 0.0.0.0).
  HOST: Joi.string().default("127.0.0.1"),
  PORT: Joi.number().port().default(3001),
  REDIS_URL: Joi.string().uri({ scheme: ["redis", "rediss"] }).default("redis://127.0.0.1:6379"),
  CORS_ORIGINS: JoiEnv.csv().items(Joi.string().uri({ scheme: ["http", "https"] })).default(["http://localhost:5173"]),
  JWT_ISSUER: Joi.string().default("meridian-auth"),
  JWT_AUDIENCE: Joi.string().default("meridian-api"),
  REPLICA_ID: Joi.string().pattern(/^[A-Za-z0-9_-]{1,64}$/).default(`${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, "-")),
  SLOW_CLIENT_MAX_BUFFERED: Joi.number().integer().min(10).max(1_000_000).default(1000),
  REORDER_HOLD_MS: Joi.number().integer().min(10).max(60_000).default(250),
  REORDER_MAX_HOLD_MS: Joi.number().integer().min(Joi.ref("REORDER_HOLD_MS")).max(600_000).default(15_000),
  SOCKET_MAX_SUBSCRIPTIONS: Joi.number().integer().min(1).max(100_000).default(100),
  SOCKET_EVENTS_PER_SECOND: Joi.number().min(0.1).max(10_000).default(20),
  SOCKET_EVENTS_BURST: Joi.number().integer().min(1).max(100_000).default(40),
  SOCKET_ABUSE_LIMIT: Joi.number().integer().min(1).max(1_000_000).default(100),
});

export function loadRealtimeConfig(env: Record<string, string | undefined> = process.env): Readonly<RealtimeConfig> {
  return loadConfig("realtime", schema, env);
}
