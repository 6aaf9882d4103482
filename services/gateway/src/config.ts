import Joi from "joi";
import { DownstreamHealthSubjects } from "@meridian/contracts";
import { commonConfig, JoiEnv, loadConfig, type CommonConfig } from "@meridian/service-kit";

export interface GatewayConfig extends CommonConfig {
  HOST: string;
  PORT: number;
  PUBLIC_URL?: string;
  TRUST_PROXY: number;
  REDIS_URL: string;
  CORS_ORIGINS: string[];
  CSP_CONNECT_SRC: string[];
  CSP_REPORT_URI?: string;
  JSON_BODY_LIMIT: string;
  MAX_JSON_DEPTH: number;
  REDIS_COMMAND_TIMEOUT_MS: number;
  SLOW_REQUEST_MS: number;
  RATE_LIMIT_WINDOW_MS: number;
  RATE_LIMIT_DEFAULT_MAX: number;
  RATE_LIMIT_AUTH_MAX: number;
  RATE_LIMIT_TASKS_MAX: number;
  RATE_LIMIT_EXPORT_MAX: number;
  RATE_LIMIT_LOGIN_MAX: number;
  RATE_LIMIT_REGISTER_MAX: number;
  RATE_LIMIT_REFRESH_MAX: number;
  RATE_LIMIT_READS_MAX: number;
  RATE_LIMIT_WRITES_MAX: number;
  RATE_LIMIT_LOGIN_WINDOW_MS: number;
  RATE_LIMIT_REGISTER_WINDOW_MS: number;
  RATE_LIMIT_REFRESH_WINDOW_MS: number;
  RATE_LIMIT_READS_WINDOW_MS: number;
  RATE_LIMIT_WRITES_WINDOW_MS: number;
  RATE_LIMIT_TASKS_WINDOW_MS: number;
  RATE_LIMIT_EXPORT_WINDOW_MS: number;
  RATE_LIMIT_AUTH_FAILURES_MAX: number;
  RATE_LIMIT_AUTH_FAILURES_WINDOW_MS: number;
  RATE_LIMIT_PREFIX: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  API_KEY_CACHE_MS: number;
  DOWNSTREAM_SERVICES: string[];
  REALTIME_URL: string;
}

const schema = Joi.object<GatewayConfig>({
  ...commonConfig,
  HOST: Joi.string().default("0.0.0.0"),
  PORT: Joi.number().port().default(3000),
  PUBLIC_URL: Joi.string().uri({ scheme: ["http", "https"] }),
  TRUST_PROXY: Joi.number().integer().min(0).max(10).default(0).description("Proxy hops to trust for the client IP"),
  REDIS_URL: Joi.string().uri({ scheme: ["redis", "rediss"] }).default("redis://127.0.0.1:6379"),
  CORS_ORIGINS: JoiEnv.csv().items(Joi.string().uri({ scheme: ["http", "https"] })).default(["http://localhost:5173"]),
  CSP_CONNECT_SRC: JoiEnv.csv().items(Joi.string()).default([]),
  CSP_REPORT_URI: Joi.string().uri(),
  JSON_BODY_LIMIT: Joi.string().pattern(/^\d+(b|kb|mb)$/).default("100kb").description("Largest body, after gzip inflation"),
  MAX_JSON_DEPTH: Joi.number().integer().min(2).max(256).default(32).description("Deepest nesting of a JSON body or query; deeper is a 422"),
  REDIS_COMMAND_TIMEOUT_MS: Joi.number().integer().min(5).max(5000).default(50).description("A rate-limit call slower than this counts as Redis unavailable"),
  SLOW_REQUEST_MS: Joi.number().integer().min(1).default(1000),
  RATE_LIMIT_WINDOW_MS: Joi.number().integer().min(1000).default(60_000),
  RATE_LIMIT_DEFAULT_MAX: Joi.number().integer().min(1).default(300),
  RATE_LIMIT_AUTH_MAX: Joi.number().integer().min(1).default(20),
  RATE_LIMIT_TASKS_MAX: Joi.number().integer().min(1).default(Joi.ref("RATE_LIMIT_DEFAULT_MAX")).description("Tasks per window (a batch counts each task)"),
  RATE_LIMIT_EXPORT_MAX: Joi.number().integer().min(1).default(10).description("Analytics exports per window (each streams a whole history)"),
  RATE_LIMIT_LOGIN_MAX: Joi.number().integer().min(1).default(Joi.ref("RATE_LIMIT_AUTH_MAX")).description("Logins per window and client IP"),
  RATE_LIMIT_REGISTER_MAX: Joi.number().integer().min(1).default(Joi.ref("RATE_LIMIT_AUTH_MAX")).description("Registrations per window and client IP"),
  RATE_LIMIT_REFRESH_MAX: Joi.number().integer().min(1).default(Joi.ref("RATE_LIMIT_AUTH_MAX")).description("Token refreshes per window and client IP"),
  RATE_LIMIT_READS_MAX: Joi.number().integer().min(1).default(Joi.ref("RATE_LIMIT_DEFAULT_MAX")).description("GETs per window and user or API key"),
  RATE_LIMIT_WRITES_MAX: Joi.number().integer().min(1).default(Joi.ref("RATE_LIMIT_DEFAULT_MAX")).description("Other calls per window and user or API key"),
  RATE_LIMIT_LOGIN_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_REGISTER_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_REFRESH_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_READS_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_WRITES_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_TASKS_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_EXPORT_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_AUTH_FAILURES_MAX: Joi.number().integer().min(1).default(30).description("Refused credentials (401) per window and client IP before verification stops (429)"),
  RATE_LIMIT_AUTH_FAILURES_WINDOW_MS: Joi.number().integer().min(1000).default(Joi.ref("RATE_LIMIT_WINDOW_MS")),
  RATE_LIMIT_PREFIX: Joi.string().pattern(/^[A-Za-z0-9:_-]+$/).default("meridian:rl:"),
  JWT_ISSUER: Joi.string().default("meridian-auth"),
  JWT_AUDIENCE: Joi.string().default("meridian-api"),
  API_KEY_CACHE_MS: Joi.number().integer().min(0).max(300_000).default(60_000).description("How long a verified API key is trusted; revocations still bite within a second"),
  REALTIME_URL: Joi.string().uri({ scheme: ["http", "https"] }).default("http://127.0.0.1:3001"),
  DOWNSTREAM_SERVICES: JoiEnv.csv()
    .items(Joi.string().valid(...Object.keys(DownstreamHealthSubjects)))
    .default(Object.keys(DownstreamHealthSubjects)),
});

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): Readonly<GatewayConfig> {
  return loadConfig("gateway", schema, env);
}
