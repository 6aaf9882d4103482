import Joi from "joi";
import { nkeys } from "@nats-io/transport-node";
import { commonConfig, loadConfig, type CommonConfig, type DatabaseConfig, databaseConfig } from "@meridian/service-kit";

export interface AgentRegistryConfig extends CommonConfig, DatabaseConfig {
  /** How often leftover events are republished, and how old an event must be to count as left over. */
  EVENT_REPUBLISH_INTERVAL_MS: number;
  /** The Meridian NATS account's public key (`A…`): the issuer account of the worker credentials it mints. */
  NATS_ACCOUNT?: string;
  /** Seed (`SA…`) of one of that account's signing keys; unset: worker credentials cannot be issued (503). */
  NATS_ACCOUNT_SIGNING_KEY?: string;
  /** How long minted worker credentials stay valid. */
  WORKER_CREDENTIALS_TTL_S: number;
}

/** An nkey seed of an account (signing key): `SA…`, and it must decode. */
const accountSeed = (seed: string, helpers: Joi.CustomHelpers) => {
  try {
    if (seed.startsWith("SA") && nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey().startsWith("A")) return seed;
  } catch {
    // reported below
  }
  return helpers.message({ custom: "{{#label}} must be an account nkey seed (SA…)" });
};

const schema = Joi.object<AgentRegistryConfig>({
  ...commonConfig,
  ...databaseConfig,
  EVENT_REPUBLISH_INTERVAL_MS: Joi.number().integer().min(50).max(600_000).default(5000),
  NATS_ACCOUNT: Joi.string().pattern(/^A[A-Z2-7]{55}$/).messages({ "string.pattern.base": "{{#label}} must be an account public nkey (A…, 56 characters)" }),
  NATS_ACCOUNT_SIGNING_KEY: Joi.string().custom(accountSeed, "an account signing key seed"),
  WORKER_CREDENTIALS_TTL_S: Joi.number().integer().min(60).max(366 * 24 * 3600).default(30 * 24 * 3600),
}).and("NATS_ACCOUNT", "NATS_ACCOUNT_SIGNING_KEY");

/** Read once at start. */
export function loadAgentRegistryConfig(env: Record<string, string | undefined> = process.env): Readonly<AgentRegistryConfig> {
  return loadConfig("agent-registry", schema, env);
}
