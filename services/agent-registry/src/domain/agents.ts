import {
  MeridianError,
  type AgentDeleted,
  type AgentEventType,
  type AgentList,
  type AgentView,
  type OwnedAgentsDeleted,
  type Principal,
  type UpdateAgentRequest,
  type ValidCreateAgentRequest,
  type ValidListAgentsRequest,
} from "@meridian/contracts";
import { currentContext } from "@meridian/service-kit";
import { deleteAgent, findAgent, findAgentById, insertAgent, listAgents, ownedAgentNames, updateAgent, type AgentChanges, type AgentDb } from "../store/agent.store.js";
import type { Agent } from "../store/tables.js";
import { notFound, redactFor, requireAdmin, requireModify, requireScope, requireSee, visibleTo } from "./access.js";
import type { AgentRegistryDeps } from "./deps.js";

export function toAgentView(agent: Agent): AgentView {
  return {
    id: agent.id,
    name: agent.name,
    description: agent.description,
    runtime: agent.runtime,
    config: agent.config,
    timeout_ms: agent.timeout_ms,
    max_attempts: agent.max_attempts,
    backoff_ms: agent.backoff_ms,
    concurrency: agent.concurrency,
    enabled: agent.enabled,
    visibility: agent.visibility,
    owner_id: agent.owner_id,
    owner_username: agent.owner_username,
    created_at: agent.created_at.toISOString(),
    updated_at: agent.updated_at.toISOString(),
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
 * Store a change and its event in one transaction, then publish the event. A failed commit leaves neither;
 * an event that cannot be published now stays in the outbox for the republisher, and the change stands.
 */
async function changeAndPublish(deps: AgentRegistryDeps, type: AgentEventType, change: (trx: AgentDb) => Promise<Agent>): Promise<AgentView> {
  const correlationId = currentContext()?.correlationId ?? "";
  const view = await deps.db.transaction().execute(async (trx) => {
    const changed = toAgentView(await change(trx));
    await deps.events.record(trx, type, changed, correlationId);
    return changed;
  });
  deps.logger.info(type, { agent: view.name, version: view.version });
  const flushed = await deps.events.flush(view.name).catch((err: unknown) => ({ published: 0, error: err as Error }));
  if (flushed.error) deps.logger.warn("agent event not published yet; left for the republisher", { agent: view.name, type, error: flushed.error.message });
  return view;
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
      visibility: req.visibility,
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
  requireSee(principal, row, name);
  return redactFor(principal, toAgentView(row));
}

/** For services acting as admin (the executor): the agent as stored, whatever its visibility. */
export async function getAgentById(deps: AgentRegistryDeps, principal: Principal, id: string): Promise<AgentView> {
  requireAdmin(principal);
  const row = await findAgentById(deps.db, id);
  if (!row) throw new MeridianError("NOT_FOUND", `No agent with id '${id}'`);
  return toAgentView(row);
}

export async function listVisibleAgents(deps: AgentRegistryDeps, principal: Principal, req: ValidListAgentsRequest): Promise<AgentList> {
  requireScope(principal, "agents:read");
  const { limit, offset, ...filter } = req;
  const { rows, total } = await listAgents(deps.db, { ...filter, visibleTo: visibleTo(principal) }, { limit, offset });
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

const OWNED_PAGE = 100;

/**
 * A deleted account (services only, as admin): each of the owner's agents goes through the same delete path, with
 * its `agent.deleted` event, so the executor cancels the tasks queued on it. A bounded page per request; `more` says
 * to ask again.
 */
export async function removeOwnedAgents(deps: AgentRegistryDeps, principal: Principal, ownerId: string): Promise<OwnedAgentsDeleted> {
  requireAdmin(principal);
  const names = await ownedAgentNames(deps.db, ownerId, OWNED_PAGE);
  let deleted = 0;
  for (const name of names) {
    const gone = await changeAndPublish(deps, "agent.deleted", async (trx) => {
      const agent = await findAgent(trx, name, { forUpdate: true });
      if (!agent || agent.owner_id !== ownerId) throw notFound(name);
      return (await deleteAgent(trx, name))!;
    }).catch((err: unknown) => {
      if (err instanceof MeridianError && err.code === "NOT_FOUND") return undefined;
      throw err;
    });
    if (gone) deleted++;
  }
  if (deleted) deps.logger.info("agents of a deleted account removed", { owner_id: ownerId, count: deleted });
  return { deleted, more: names.length === OWNED_PAGE };
}
