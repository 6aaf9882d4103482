import { randomUUID } from "node:crypto";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Principal, Role, Scope } from "@meridian/contracts";
import { scopesForRoles } from "@meridian/contracts";
import { createLogger, MemoryTransport, requestJson } from "@meridian/service-kit";
import { testInfra, uniqueName } from "@meridian/service-kit/testing";
import { loadAgentRegistryConfig, type AgentRegistryConfig } from "../src/config.js";
import { migrate, start, type RunningAgentRegistry } from "../src/service.js";

export function agentRegistryTestEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    NATS_URL: testInfra.natsUrl,
    DATABASE_URL: testInfra.databaseUrl,
    ...extra,
  };
}

/** One running agent-registry against the real servers, plus a client connection to drive it over NATS. */
export class AgentRegistryTestContext {
  config!: Readonly<AgentRegistryConfig>;
  logs = new MemoryTransport();
  nc!: NatsConnection;
  jsm!: JetStreamManager;
  private running?: RunningAgentRegistry;

  async start(env: Record<string, string> = {}): Promise<this> {
    this.config = loadAgentRegistryConfig(agentRegistryTestEnv(env));
    await migrate(this.config, createLogger({ service: "agent-registry-test", silent: true }));
    this.running = await start(this.config, { logTransports: [this.logs], silentLogs: true });
    this.nc = await connect({ servers: this.config.NATS_URL });
    this.jsm = await jetstreamManager(this.nc);
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

/** A valid agent name no other test uses. */
export function agentName(prefix = "agent"): string {
  return uniqueName(prefix).toLowerCase().replace(/\./g, "");
}

/** A caller as the gateway would establish it: a fresh user id unless one is given. */
export function principalFor(role: Role, overrides: Partial<Principal> = {}): Principal {
  return {
    kind: "user",
    sub: randomUUID(),
    username: uniqueName(role).replace(/-/g, "_").slice(0, 32),
    roles: [role],
    scopes: scopesForRoles([role]),
    ...overrides,
  };
}

export function apiKeyPrincipal(owner: Principal, scopes: Scope[]): Principal {
  return { ...owner, kind: "api_key", scopes, keyId: randomUUID() };
}
