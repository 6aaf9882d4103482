import { generateKeyPairSync } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Principal } from "@meridian/contracts";
import { createLogger, MemoryTransport, requestJson } from "@meridian/service-kit";
import { testInfra, uniqueName } from "@meridian/service-kit/testing";
import { loadAuthConfig, type AuthConfig } from "../src/config.js";
import { migrate, start, type RunningAuth } from "../src/service.js";

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
export class AuthTestContext {
  config!: Readonly<AuthConfig>;
  logs = new MemoryTransport();
  nc!: NatsConnection;
  private running?: RunningAuth;

  async start(env: Record<string, string> = {}): Promise<this> {
    this.config = loadAuthConfig(authTestEnv(env));
    await migrate(this.config, createLogger({ service: "auth-test", silent: true }));
    this.running = await start(this.config, { logTransports: [this.logs], silentLogs: true });
    this.nc = await connect({ servers: this.config.NATS_URL });
    return this;
  }

  request<R>(subject: string, body: unknown, options: { principal?: Principal; correlationId?: string } = {}): Promise<R> {
    return requestJson<R>(this.nc, subject, body, { timeoutMs: 5000, ...options });
  }

  async stop(): Promise<void> {
    await this.nc?.close();
    await this.running?.stop();
  }
}

export function newUser(password = "Sturdy-Passw0rd!") {
  const username = uniqueName("u").replace(/-/g, "_").slice(0, 32);
  return { username, email: `${username}@example.com`, password };
}
