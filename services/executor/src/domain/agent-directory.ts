import type { NatsConnection } from "@nats-io/transport-node";
import { Scopes, Subjects, type AgentView, type Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";

/** The executor asks the registry as itself, to read full agent definitions (including secrets in config). */
export const EXECUTOR_PRINCIPAL: Principal = {
  kind: "user",
  sub: "00000000-0000-4000-8000-00000000e7ec",
  username: "system-executor",
  roles: ["admin"],
  scopes: [...Scopes],
};

/**
 * Agent definitions from the registry, cached briefly and dropped when the registry announces a
 * change (its events also reach plain NATS subscribers), so changed agents apply without a restart.
 */
export class AgentDirectory {
  private cache = new Map<string, { agent: AgentView; until: number }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly ttlMs = 30_000,
  ) {}

  /** As the caller sees it: the registry applies its visibility rules. */
  getFor(principal: Principal, name: string): Promise<AgentView> {
    return requestJson<AgentView>(this.nc, Subjects.agents.get, { name }, { timeoutMs: this.timeoutMs, principal });
  }

  async get(name: string): Promise<AgentView> {
    const hit = this.cache.get(name);
    if (hit && hit.until > Date.now()) return hit.agent;
    const agent = await this.getFor(EXECUTOR_PRINCIPAL, name);
    this.cache.set(name, { agent, until: Date.now() + this.ttlMs });
    return agent;
  }

  forget(name: string): void {
    this.cache.delete(name);
  }
}
