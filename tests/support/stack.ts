import { generateKeyPairSync } from "node:crypto";
import { freePort, testInfra, uniqueName } from "@meridian/service-kit/testing";
import { runScript, ServiceProcess } from "./process.js";

export interface StackOptions {
  auth?: boolean;
  gatewayEnv?: Record<string, string>;
}

export function signingKey(): { pem: string; kid: string } {
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { pem, kid: uniqueName("kid") };
}

export const baseEnv = (): Record<string, string> => ({
  NODE_ENV: "test",
  LOG_LEVEL: "info",
  NATS_URL: testInfra.natsUrl,
  REDIS_URL: testInfra.redisUrl,
  DATABASE_URL: testInfra.databaseUrl,
});

/** A gateway (and, unless told otherwise, an auth service) as separate processes on the test servers. */
export class Stack {
  auth?: ServiceProcess;
  gateway!: ServiceProcess;
  gatewayUrl!: string;
  readonly key = signingKey();
  readonly rateLimitPrefix = `${uniqueName("rl")}:`;
  private readonly gateways: ServiceProcess[] = [];

  async start(options: StackOptions = {}): Promise<this> {
    if (options.auth !== false) {
      const env = { ...baseEnv(), JWT_PRIVATE_KEY: this.key.pem, JWT_KEY_ID: this.key.kid, ARGON2_MEMORY_KIB: "4096", ARGON2_TIME_COST: "1" };
      await runScript("services/auth/dist/src/migrate.js", env);
      this.auth = await new ServiceProcess("auth", "services/auth/dist/src/main.js", env).start("auth service started");
    }
    this.gateway = await this.startGateway(options.gatewayEnv ?? {});
    this.gatewayUrl = `http://127.0.0.1:${(this.gateway as ServiceProcess & { port: number }).port}`;
    return this;
  }

  /** Another gateway sharing this stack's NATS, Redis and rate-limit prefix (a second replica). */
  async startGateway(env: Record<string, string> = {}): Promise<ServiceProcess & { port: number; url: string }> {
    const port = await freePort();
    const gateway = new ServiceProcess("gateway", "services/gateway/dist/src/main.js", {
      ...baseEnv(),
      HOST: "127.0.0.1",
      PORT: String(port),
      DOWNSTREAM_SERVICES: "auth",
      RATE_LIMIT_PREFIX: this.rateLimitPrefix,
      RATE_LIMIT_AUTH_MAX: "1000",
      RATE_LIMIT_DEFAULT_MAX: "1000",
      API_KEY_CACHE_MS: "0",
      CORS_ORIGINS: "http://app.example.test",
      ...env,
    });
    this.gateways.push(gateway);
    await gateway.start("gateway listening");
    return Object.assign(gateway, { port, url: `http://127.0.0.1:${port}` });
  }

  async stop(): Promise<void> {
    await Promise.all(this.gateways.map((g) => g.stop()));
    await this.auth?.stop();
  }
}
