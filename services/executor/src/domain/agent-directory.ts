import type { NatsConnection } from "@nats-io/transport-node";
import { MeridianError, Scopes, Subjects, type AgentView, type Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";

/** The executor asks the registry as itself, to read full agent definitions (including secrets in config). */
export const EXECUTOR_PRINCIPAL: Principal = {
  kind: "user",
  sub: "00000000-0000-4000-8000-00000000e7ec",
  username: "system-executor",
  roles: ["admin"],
  scopes: [...Scopes],
};

interface Entry {
  agent: AgentView | null;
  until: number;
}

/**
 * Agent definitions from the registry, by name (for submissions) and by immutable id (for runs), cached
 * briefly and dropped when the registry announces a change, so a submission costs no registry round trip
 * and changes apply without a restart. Access is decided by the caller with the contracts' rules.
 */
export class AgentDirectory {
  private byName = new Map<string, Entry>();
  private byId = new Map<string, Entry>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly ttlMs = 5_000,
  ) {}

  /** The current agent of this name; undefined when there is none. */
  async named(name: string): Promise<AgentView | undefined> {
    const hit = this.byName.get(name);
    if (hit && hit.until > Date.now()) return hit.agent ?? undefined;
    const agent = await this.fetch(Subjects.agents.get, { name });
    this.remember(agent, name);
    return agent;
  }

  /** The agent with this id; undefined when it was deleted (its name may belong to another agent now). */
  async byIdOrUndefined(id: string): Promise<AgentView | undefined> {
    const hit = this.byId.get(id);
    if (hit && hit.until > Date.now()) return hit.agent ?? undefined;
    const agent = await this.fetch(Subjects.agents.getById, { id });
    const until = Date.now() + this.ttlMs;
    this.byId.set(id, { agent: agent ?? null, until });
    if (agent) this.byName.set(agent.name, { agent, until });
    return agent;
  }

  /** A registry event: whatever we know of this agent is stale. */
  forget(agent: Pick<AgentView, "id" | "name">): void {
    this.byName.delete(agent.name);
    this.byId.delete(agent.id);
  }

  private remember(agent: AgentView | undefined, name: string) {
    const until = Date.now() + this.ttlMs;
    this.byName.set(name, { agent: agent ?? null, until });
    if (agent) this.byId.set(agent.id, { agent, until });
  }

  private async fetch(subject: string, body: object): Promise<AgentView | undefined> {
    try {
      return await requestJson<AgentView>(this.nc, subject, body, { timeoutMs: this.timeoutMs, principal: EXECUTOR_PRINCIPAL });
    } catch (err) {
      if (err instanceof MeridianError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }
}
