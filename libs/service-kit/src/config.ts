import { readFileSync } from "node:fs";
import Joi from "joi";

export class ConfigError extends Error {
  constructor(service: string, problems: string[]) {
    super(`Invalid configuration for ${service}:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validate environment-style input once at start; a bad or missing value throws a ConfigError
 * naming every problem, so the process stops with a clear message instead of failing later.
 */
export function loadConfig<T>(service: string, schema: Joi.ObjectSchema<T>, source: Record<string, unknown>): Readonly<T> {
  const { value, error } = schema.validate(source, { abortEarly: false, allowUnknown: true, stripUnknown: true, convert: true });
  if (error) throw new ConfigError(service, error.details.map((d) => d.message));
  return deepFreeze(value as T);
}

/** Config keys every service shares (see {@link commonConfig}). */
export interface CommonConfig {
  NODE_ENV: "development" | "test" | "production";
  LOG_LEVEL: string;
  NATS_URL: string;
  NATS_REQUEST_TIMEOUT_MS: number;
  /** Path of this service's NATS `.creds` file (user JWT + nkey seed); unset on a server without auth. */
  NATS_CREDS?: string;
  JETSTREAM_REPLICAS: number;
  SHUTDOWN_GRACE_MS: number;
  /** The ops port (/healthz, /readyz, /metrics); unset = no ops server. */
  METRICS_PORT?: number;
  METRICS_HOST: string;
}

/** A readable NATS credentials file: a user JWT and its nkey seed (never logged, never in the environment itself). */
const natsCredsFile = (path: string, helpers: Joi.CustomHelpers) => {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return helpers.message({ custom: `{{#label}} (${path}) is not a readable file` });
  }
  if (!text.includes("BEGIN NATS USER JWT") || !text.includes("BEGIN USER NKEY SEED")) {
    return helpers.message({ custom: "{{#label}} is not a NATS credentials file (user JWT and nkey seed)" });
  }
  return path;
};

/** Config keys every service shares. */
export const commonConfig = {
  NODE_ENV: Joi.string().valid("development", "test", "production").default("development"),
  LOG_LEVEL: Joi.string().valid("error", "warn", "info", "http", "verbose", "debug", "silly").default("info"),
  NATS_URL: Joi.string().default("nats://127.0.0.1:4222"),
  NATS_REQUEST_TIMEOUT_MS: Joi.number().integer().min(100).max(120_000).default(5000),
  NATS_CREDS: Joi.string().custom(natsCredsFile, "a NATS credentials file"),
  /** Copies of every stream and KV bucket the services create: 3 on a 3-node JetStream cluster. */
  JETSTREAM_REPLICAS: Joi.number().integer().min(1).max(5).default(1),
  SHUTDOWN_GRACE_MS: Joi.number().integer().min(0).max(600_000).default(10_000),
  // No default port: five services started on one host (`npm start`) would collide; Kubernetes sets 9464.
  METRICS_PORT: Joi.number().port().description("Ops HTTP port: /healthz, /readyz, /metrics (unset: off)"),
  // All interfaces, like the services' HOST: the port is opt-in, and the kubelet and Prometheus reach it by the pod IP.
  // On a shared host, 127.0.0.1 keeps it local.
  METRICS_HOST: Joi.string().default("0.0.0.0"),
};

/** Joi with `csv` ("a, b" → ["a", "b"]) and `jsonArray` ('[{…}]' → [{…}]) types for environment values. */
export const JoiEnv = Joi.extend(
  (joi) => ({
    type: "csv",
    base: joi.array(),
    coerce: {
      from: "string",
      method: (value: string) => ({ value: value.split(",").map((s) => s.trim()).filter(Boolean) }),
    },
  }),
  (joi) => ({
    type: "jsonArray",
    base: joi.array(),
    messages: { "jsonArray.parse": "{{#label}} must be a JSON array" },
    coerce: {
      from: "string",
      method: (value: string, helpers) => {
        try {
          return { value: JSON.parse(value) as unknown };
        } catch {
          return { errors: [helpers.error("jsonArray.parse")] };
        }
      },
    },
  }),
) as typeof Joi & { csv: () => Joi.ArraySchema<string[]>; jsonArray: () => Joi.ArraySchema };

/** Config keys of a service that owns a PostgreSQL schema (see {@link databaseConfig}). */
export interface DatabaseConfig {
  DATABASE_URL: string;
  DB_POOL_SIZE: number;
}

export const databaseConfig = {
  DATABASE_URL: Joi.string().uri({ scheme: ["postgres", "postgresql"] }).required(),
  DB_POOL_SIZE: Joi.number().integer().min(1).max(100).default(10),
};

export interface MigrationConfig {
  DATABASE_URL: string;
  LOG_LEVEL: string;
}

/** Migrations need only the database: a migrate step never asks for the service's secrets. */
export function loadMigrationConfig(service: string, source: Record<string, unknown> = process.env): Readonly<MigrationConfig> {
  return loadConfig<MigrationConfig>(
    service,
    Joi.object<MigrationConfig>({
      DATABASE_URL: databaseConfig.DATABASE_URL,
      LOG_LEVEL: commonConfig.LOG_LEVEL,
    }),
    source,
  );
}
