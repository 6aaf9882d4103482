import { generateKeyPairSync } from "node:crypto";
import { ServiceTestContext, testInfra, uniqueName } from "@meridian/service-kit/testing";
import { loadAuthConfig, type AuthConfig } from "../src/config.js";
import { migrate, start } from "../src/service.js";

export function testKeyPem(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

export function authTestEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    NATS_URL: testInfra.natsUrl,
    DATABASE_URL: testInfra.databaseUrl,
    JWT_PRIVATE_KEY: testKeyPem(),
    JWT_KEY_ID: uniqueName("kid"),
    ARGON2_MEMORY_KIB: "4096",
    ARGON2_TIME_COST: "1",
    ...extra,
  };
}

/** One running auth service against the real servers, plus a client connection to drive it over NATS. */
export class AuthTestContext extends ServiceTestContext {
  config!: Readonly<AuthConfig>;

  async start(env: Record<string, string> = {}): Promise<this> {
    this.config = loadAuthConfig(authTestEnv(env));
    await this.boot(this.config.NATS_URL, (logger) => migrate(this.config, logger), (options) => start(this.config, options));
    return this;
  }
}

export function newUser(password = "Sturdy-Passw0rd!") {
  const username = uniqueName("u").replace(/-/g, "_").slice(0, 32);
  return { username, email: `${username}@example.com`, password };
}
