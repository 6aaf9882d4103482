import { generateKeyPairSync } from "node:crypto";
import type { ServiceName } from "@meridian/contracts";
import { freePort, testInfra, uniqueName } from "@meridian/service-kit/testing";
import { runScript, ServiceProcess } from "./process.js";

export interface StackOptions {
  auth?: boolean;
  /** Also start the agent-registry (migrated first) and have the gateway's readiness ask it. */
  agentRegistry?: boolean;
  gatewayEnv?: Record<string, string>;
  /** Start this many executor processes (needs agentRegistry); see startExecutor for more. */
  executors?: number;
  executorEnv?: Record<string, string>;
  /** Start this many realtime replicas; the gateway proxies /socket.io to the first. */
  realtime?: number;
  /** Have auth create this admin account at start (its ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD). */
  admin?: { username: string; email: string; password: string };
  /** Extra settings for the auth service (login throttling thresholds, ...). */
  authEnv?: Record<string, string>;
}

export function signingKey(): { pem: string; kid: string } {
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { pem, kid: uniqueName("kid") };
}

export const baseEnv = (natsUrl = testInfra.natsUrl, databaseUrl = testInfra.databaseUrl): Record<string, string> => ({
  NODE_ENV: "test",
  LOG_LEVEL: "info",
  NATS_URL: natsUrl,
  REDIS_URL: testInfra.redisUrl,
  DATABASE_URL: databaseUrl,
});

/**
 * A gateway (and, unless told otherwise, an auth service; on request an agent-registry) as separate
 * processes on the test servers.
 */
export class Stack {
  auth?: ServiceProcess;
  agentRegistry?: ServiceProcess;
  gateway!: ServiceProcess;
  gatewayUrl!: string;
  readonly key = signingKey();
  readonly rateLimitPrefix = `${uniqueName("rl")}:`;
  private readonly gateways: ServiceProcess[] = [];
  private downstream = ["auth"];
  readonly executors: ServiceProcess[] = [];
  readonly realtimes: Array<ServiceProcess & { url: string }> = [];
  private executorEnv: Record<string, string> = {};

  /**
   * `natsUrl`: run the whole stack on another NATS server (tests that restart it start their own).
   * `databaseUrl`: and on another database, so no other stack's executors (on another NATS) share its outboxes.
   */
  constructor(
    private readonly natsUrl = testInfra.natsUrl,
    private readonly databaseUrl = testInfra.databaseUrl,
    /** Settings every process of this stack gets (JETSTREAM_REPLICAS on a cluster). */
    private readonly sharedEnv: Record<string, string> = {},
    /** Settings of one service's processes only (its NATS_CREDS on a server with accounts). */
    private readonly serviceEnv: Partial<Record<ServiceName, Record<string, string>>> = {},
  ) {}

  private env(service?: ServiceName): Record<string, string> {
    return { ...baseEnv(this.natsUrl, this.databaseUrl), ...this.sharedEnv, ...(service ? this.serviceEnv[service] : {}) };
  }

  async start(options: StackOptions = {}): Promise<this> {
    if (options.auth !== false) {
      const env = {
        ...this.env("auth"),
        JWT_PRIVATE_KEY: this.key.pem,
        JWT_KEY_ID: this.key.kid,
        ARGON2_MEMORY_KIB: "4096",
        ARGON2_TIME_COST: "1",
        ...(options.admin ? { ADMIN_USERNAME: options.admin.username, ADMIN_EMAIL: options.admin.email, ADMIN_PASSWORD: options.admin.password } : {}),
        ...options.authEnv,
      };
      await runScript("services/auth/dist/src/migrate.js", env);
      this.auth = await new ServiceProcess("auth", "services/auth/dist/src/main.js", env).start("auth service started");
    }
    if (options.agentRegistry) {
      await runScript("services/agent-registry/dist/src/migrate.js", this.env());
      // Kept before it is ready, so stop() ends it even when the start times out.
      this.agentRegistry = new ServiceProcess("agent-registry", "services/agent-registry/dist/src/main.js", this.env("agent-registry"));
      await this.agentRegistry.start("agent-registry service started");
      this.downstream = ["auth", "agent-registry"];
    }
    if (options.executors) {
      this.executorEnv = options.executorEnv ?? {};
      await runScript("services/executor/dist/src/migrate.js", this.env());
      for (let i = 0; i < options.executors; i++) await this.startExecutor();
      this.downstream.push("executor");
    }
    for (let i = 0; i < (options.realtime ?? 0); i++) await this.startRealtime();
    if (options.realtime) this.downstream.push("realtime");
    this.gateway = await this.startGateway({
      ...(this.realtimes[0] ? { REALTIME_URL: this.realtimes[0].url } : {}),
      ...options.gatewayEnv,
    });
    this.gatewayUrl = `http://127.0.0.1:${(this.gateway as ServiceProcess & { port: number }).port}`;
    return this;
  }

  /** One more realtime replica (Socket.IO on a free port, sharing Redis through the adapter). */
  async startRealtime(env: Record<string, string> = {}): Promise<ServiceProcess & { url: string }> {
    const port = await freePort();
    const realtime = Object.assign(
      new ServiceProcess("realtime", "services/realtime/dist/src/main.js", {
        ...this.env("realtime"),
        HOST: "127.0.0.1",
        PORT: String(port),
        REPLICA_ID: uniqueName("rt"),
        CORS_ORIGINS: "http://app.example.test",
        ...env,
      }),
      { url: `http://127.0.0.1:${port}` },
    );
    this.realtimes.push(realtime);
    await realtime.start("realtime listening");
    return realtime;
  }

  /** One more executor replica (a separate process with its own EXECUTOR_ID). */
  async startExecutor(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const executor = new ServiceProcess("executor", "services/executor/dist/src/main.js", {
      ...this.env("executor"),
      EXECUTOR_ID: uniqueName("exec"),
      ACK_WAIT_MS: "3000",
      RECONCILE_INTERVAL_MS: "300",
      SHUTDOWN_GRACE_MS: "3000",
      ...this.executorEnv,
      ...env,
    });
    this.executors.push(executor);
    await executor.start("executor service started");
    return executor;
  }

  /** Another gateway sharing this stack's NATS, Redis and rate-limit prefix (a second replica). */
  async startGateway(env: Record<string, string> = {}): Promise<ServiceProcess & { port: number; url: string }> {
    const port = await freePort();
    const gateway = new ServiceProcess("gateway", "services/gateway/dist/src/main.js", {
      ...this.env("gateway"),
      HOST: "127.0.0.1",
      PORT: String(port),
      DOWNSTREAM_SERVICES: this.downstream.join(","),
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
    await Promise.all([...this.executors, ...this.realtimes].map((e) => e.stop()));
    await Promise.all([this.auth?.stop(), this.agentRegistry?.stop()]);
  }
}
