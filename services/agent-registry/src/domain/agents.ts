import {
  MeridianError,
  type AgentDeleted,
  type AgentEventType,
  type AgentList,
  type AgentView,
  type Principal,
  type UpdateAgentRequest,
  type ValidCreateAgentRequest,
  type ValidListAgentsRequest,
} from "@meridian/contracts";
import { deleteAgent, findAgent, insertAgent, listAgents, updateAgent, type AgentChanges, type AgentDb } from "../store/agent.store.js";
import type { Agent } from "../store/tables.js";
import { canSee, notFound, redactFor, requireModify, requireScope, visibleToOwner } from "./access.js";
import type { AgentRegistryDeps } from "./deps.js";

export function toAgentView(agent: Agent): AgentView {
  return {
    name: agent.name,
    description: agent.description,
    runtime: agent.runtime,
    config: agent.config,
    timeout_ms: agent.timeout_ms,
    max_attempts: agent.max_attempts,
    backoff_ms: agent.backoff_ms,
    concurrency: agent.concurrency,
    enabled: agent.enabled,
    owner_id: agent.owner_id,
    owner_username: agent.owner_username,
    created_at: new Date(agent.created_at).toISOString(),
    updated_at: new Date(agent.updated_at).toISOString(),
    version: agent.version,
  };
}

/** Everything in an update request except the name; an empty description clears it. */
export function changesFrom(req: UpdateAgentRequest): AgentChanges {
  const changes: AgentChanges = Object.fromEntries(Object.entries(req).filter(([k, v]) => k !== "name" && v !== undefined));
  if (changes.description !== undefined) changes.description = changes.description || null;
  return changes;
}

/**
 * Store a change and publish its event in one transaction: when the event cannot be published the
 * change is rolled back, so the registry and its stream do not disagree.
 */
async function changeAndPublish(
  deps: AgentRegistryDeps,
  type: AgentEventType,
  change: (trx: AgentDb) => Promise<Agent>,
): Promise<AgentView> {
  return deps.db.transaction().execute(async (trx) => {
    const view = toAgentView(await change(trx));
    try {
      await deps.events.publish(type, view);
    } catch (err) {
      deps.logger.error("agent event not published; change rolled back", { agent: view.name, type, error: err });
      throw new MeridianError("SERVICE_UNAVAILABLE", "The change could not be announced; nothing was changed");
    }
    deps.logger.info(type, { agent: view.name, version: view.version });
    return view;
  });
}

export async function createAgent(deps: AgentRegistryDeps, principal: Principal, req: ValidCreateAgentRequest): Promise<AgentView> {
  requireScope(principal, "agents:write");
  const view = await changeAndPublish(deps, "agent.created", async (trx) => {
    const row = await insertAgent(trx, {
      name: req.name,
      description: req.description || null,
      runtime: req.runtime,
      config: req.config,
      timeout_ms: req.timeout_ms,
      max_attempts: req.max_attempts,
      backoff_ms: req.backoff_ms,
      concurrency: req.concurrency,
      enabled: req.enabled,
      owner_id: principal.sub,
      owner_username: principal.username,
    });
    if (!row) throw new MeridianError("CONFLICT", `An agent named '${req.name}' already exists`);
    return row;
  });
  return redactFor(principal, view);
}

export async function getAgent(deps: AgentRegistryDeps, principal: Principal, name: string): Promise<AgentView> {
  requireScope(principal, "agents:read");
  const row = await findAgent(deps.db, name);
  if (!row || !canSee(principal, row)) throw notFound(name);
  return redactFor(principal, toAgentView(row));
}

export async function listVisibleAgents(deps: AgentRegistryDeps, principal: Principal, req: ValidListAgentsRequest): Promise<AgentList> {
  requireScope(principal, "agents:read");
  const { limit, offset, ...filter } = req;
  const { rows, total } = await listAgents(deps.db, { ...filter, visibleToOwner: visibleToOwner(principal) }, { limit, offset });
  return { items: rows.map((row) => redactFor(principal, toAgentView(row))), total, limit, offset };
}

export async function changeAgent(deps: AgentRegistryDeps, principal: Principal, req: UpdateAgentRequest): Promise<AgentView> {
  requireScope(principal, "agents:write");
  const view = await changeAndPublish(deps, "agent.updated", async (trx) => {
    requireModify(principal, await findAgent(trx, req.name, { forUpdate: true }), req.name);
    const row = await updateAgent(trx, req.name, changesFrom(req));
    if (!row) throw notFound(req.name);
    return row;
  });
  return redactFor(principal, view);
}

export async function removeAgent(deps: AgentRegistryDeps, principal: Principal, name: string): Promise<AgentDeleted> {
  requireScope(principal, "agents:write");
  await changeAndPublish(deps, "agent.deleted", async (trx) => {
    requireModify(principal, await findAgent(trx, name, { forUpdate: true }), name);
    const row = await deleteAgent(trx, name);
    if (!row) throw notFound(name);
    return row;
  });
  return { deleted: true };
}
