import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { agentEventSubject, Streams, type Principal, type Role, type Scope } from "@meridian/contracts";
import { scopesForRoles } from "@meridian/contracts";
import { createDatabase, createLogger, type Database } from "@meridian/service-kit";
import { ServiceTestContext, testInfra, uniqueName } from "@meridian/service-kit/testing";
import { loadAgentRegistryConfig, type AgentRegistryConfig } from "../src/config.js";
import { SCHEMA } from "../src/migrations/index.js";
import { migrate, start } from "../src/service.js";
import type { AgentRegistryDatabase } from "../src/store/tables.js";

export function agentRegistryTestEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    NATS_URL: testInfra.natsUrl,
    DATABASE_URL: testInfra.databaseUrl,
    ...extra,
  };
}

/**
 * One running agent-registry against the real servers, plus a client connection to drive it over NATS and a
 * database handle for what only the database can show (the outbox) or do (refuse a commit).
 */
export class AgentRegistryTestContext extends ServiceTestContext {
  config!: Readonly<AgentRegistryConfig>;
  jsm!: JetStreamManager;
  database!: Database<AgentRegistryDatabase>;

  async start(env: Record<string, string> = {}): Promise<this> {
    this.config = loadAgentRegistryConfig(agentRegistryTestEnv(env));
    await this.boot(this.config.NATS_URL, (logger) => migrate(this.config, logger), (options) => start(this.config, options));
    this.jsm = await jetstreamManager(this.nc);
    this.database = createDatabase({ connectionString: this.config.DATABASE_URL, schema: SCHEMA, poolSize: 2, logger: createLogger({ service: "test", silent: true }) });
    return this;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.database?.close();
  }

  /** How many events of this agent the stream holds. */
  async eventCount(name: string): Promise<number> {
    const info = await this.jsm.streams.info(Streams.agentEvents.name, { subjects_filter: agentEventSubject(name) });
    return info.state.subjects?.[agentEventSubject(name)] ?? 0;
  }

  /** Up to `expected` events of this agent from the stream, in order. */
  async allEvents(name: string, expected: number): Promise<JsMsg[]> {
    const consumer = await jetstream(this.nc).consumers.get(Streams.agentEvents.name, { filter_subjects: agentEventSubject(name) });
    const messages: JsMsg[] = [];
    for await (const m of await consumer.fetch({ max_messages: expected, expires: 3000 })) messages.push(m);
    await consumer.delete().catch(() => undefined);
    return messages;
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
