import { readFileSync } from "node:fs";
import Joi from "joi";
import { MAX_ACCESS_TOKEN_TTL_S, PASSWORD_MIN } from "@meridian/contracts";
import { commonConfig, JoiEnv, loadConfig, type CommonConfig, type DatabaseConfig, databaseConfig } from "@meridian/service-kit";

export interface AuthConfig extends CommonConfig, DatabaseConfig {
  JWT_PRIVATE_KEY: string;
  JWT_KEY_ID: string;
  /** Keys retired from signing but still published for verification, until the tokens they signed expire. */
  JWT_PREVIOUS_KEYS: Array<{ kid: string; publicKeyPem: string }>;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ACCESS_TOKEN_TTL_S: number;
  REFRESH_TOKEN_TTL_S: number;
  ARGON2_MEMORY_KIB: number;
  ARGON2_TIME_COST: number;
  API_KEY_USE_FLUSH_MS: number;
  ADMIN_USERNAME?: string;
  ADMIN_EMAIL?: string;
  ADMIN_PASSWORD?: string;
  /** Refresh tokens expired or revoked this many days ago are deleted; 0 keeps them. */
  REVOKED_TOKEN_RETENTION_DAYS: number;
  RETENTION_INTERVAL_MS: number;
  /** Failed sign-ins of one account before it locks. */
  LOGIN_FREE_ATTEMPTS: number;
  /** The first lock in seconds; it doubles with each further failure up to LOGIN_LOCK_MAX_S. */
  LOGIN_LOCK_BASE_S: number;
  LOGIN_LOCK_MAX_S: number;
  /** A failure this long after the previous one counts from 1 again. */
  LOGIN_FAILURE_RESET_S: number;
}

const schema = Joi.object<AuthConfig>({
  ...commonConfig,
  ...databaseConfig,
  JWT_PRIVATE_KEY: Joi.string()
    .pattern(/-----BEGIN PRIVATE KEY-----/)
    .required()
    .messages({ "string.pattern.base": "JWT_PRIVATE_KEY must be a PKCS#8 PEM (EC P-256) key" }),
  JWT_KEY_ID: Joi.string().pattern(/^[A-Za-z0-9._-]{1,64}$/).required(),
  JWT_PREVIOUS_KEYS: JoiEnv.jsonArray()
    .items(
      Joi.object({
        kid: Joi.string().pattern(/^[A-Za-z0-9._-]{1,64}$/).required(),
        publicKeyPem: Joi.string().pattern(/-----BEGIN PUBLIC KEY-----/).required(),
      }),
    )
    .default([])
    .description("JSON: [{ kid, publicKeyPem }]"),
  JWT_ISSUER: Joi.string().default("meridian-auth"),
  JWT_AUDIENCE: Joi.string().default("meridian-api"),
  ACCESS_TOKEN_TTL_S: Joi.number().integer().min(30).max(MAX_ACCESS_TOKEN_TTL_S).default(900),
  REFRESH_TOKEN_TTL_S: Joi.number().integer().min(300).max(90 * 86400).default(14 * 86400),
  ARGON2_MEMORY_KIB: Joi.number().integer().min(1024).max(1 << 20).default(19456),
  ARGON2_TIME_COST: Joi.number().integer().min(1).max(10).default(2),
  API_KEY_USE_FLUSH_MS: Joi.number().integer().min(10).max(60_000).default(1000).description("Interval of the batched last_used_at write"),
  ADMIN_USERNAME: Joi.string().lowercase(),
  ADMIN_EMAIL: Joi.string().lowercase().email({ tlds: { allow: false } }),
  ADMIN_PASSWORD: Joi.string().min(PASSWORD_MIN),
  REVOKED_TOKEN_RETENTION_DAYS: Joi.number().integer().min(0).max(3650).default(7),
  RETENTION_INTERVAL_MS: Joi.number().integer().min(1000).max(86_400_000).default(3_600_000),
  LOGIN_FREE_ATTEMPTS: Joi.number().integer().min(1).max(100).default(5),
  LOGIN_LOCK_BASE_S: Joi.number().integer().min(1).max(3600).default(30),
  LOGIN_LOCK_MAX_S: Joi.number().integer().min(Joi.ref("LOGIN_LOCK_BASE_S")).max(86_400).default(900),
  LOGIN_FAILURE_RESET_S: Joi.number().integer().min(60).max(7 * 86_400).default(3600),
}).and("ADMIN_USERNAME", "ADMIN_EMAIL", "ADMIN_PASSWORD");

/** Read once at start. JWT_PRIVATE_KEY_FILE is accepted in place of the PEM itself (Kubernetes secrets). */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env): Readonly<AuthConfig> {
  const source: Record<string, unknown> = { ...env };
  if (!source.JWT_PRIVATE_KEY && env.JWT_PRIVATE_KEY_FILE) {
    try {
      source.JWT_PRIVATE_KEY = readFileSync(env.JWT_PRIVATE_KEY_FILE, "utf8");
    } catch (err) {
      throw new Error(`Invalid configuration for auth:\n  - JWT_PRIVATE_KEY_FILE cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }
  return loadConfig("auth", schema, source);
}
