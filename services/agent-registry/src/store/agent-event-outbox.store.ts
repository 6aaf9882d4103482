import { sql } from "kysely";
import type { AgentEvent } from "@meridian/contracts";
import type { AgentDb } from "./agent.store.js";

/** An event as it goes out: its JSON text exactly as written, and its correlation id for the header. */
export interface PendingEvent {
  id: string;
  agent_name: string;
  msg_id: string;
  payload: string;
  correlation_id: string | null;
}

export interface NewOutboxEvent {
  agent_name: string;
  version: number;
  msg_id: string;
  event: AgentEvent;
}

/** Inside the change's transaction: the event exists exactly when the change does. */
export async function insertOutboxEvent(db: AgentDb, event: NewOutboxEvent): Promise<void> {
  await db.insertInto("agent_event_outbox").values({ ...event, event: JSON.stringify(event.event) }).execute();
}

/**
 * The agent's unpublished events in version order, locked until the transaction ends, so two publishers of
 * one agent take turns and its events reach the stream in order. `nowait`: fail at once (55P03) when
 * another publisher holds them.
 */
export async function lockPendingEvents(db: AgentDb, agentName: string, { nowait = false } = {}): Promise<PendingEvent[]> {
  const query = db
    .selectFrom("agent_event_outbox")
    .select(["id", "agent_name", "msg_id", sql<string>`event::text`.as("payload"), sql<string | null>`event->>'correlation_id'`.as("correlation_id")])
    .where("agent_name", "=", agentName).orderBy("version").orderBy("id").forUpdate();
  return (nowait ? query.noWait() : query).execute();
}

export async function deleteOutboxEvents(db: AgentDb, ids: string[]): Promise<void> {
  if (ids.length > 0) await db.deleteFrom("agent_event_outbox").where("id", "in", ids).execute();
}

export async function markOutboxFailure(db: AgentDb, id: string, error: string): Promise<void> {
  await db
    .updateTable("agent_event_outbox")
    .set((eb) => ({ attempts: eb("attempts", "+", 1), last_error: error.slice(0, 500) }))
    .where("id", "=", id)
    .execute();
}

/** Agents with events left in the outbox for longer than `olderThanMs`, the longest-waiting first. */
export async function agentsWithStaleEvents(db: AgentDb, olderThanMs: number, limit = 100): Promise<string[]> {
  const rows = await db
    .selectFrom("agent_event_outbox")
    .select("agent_name")
    .where("created_at", "<", sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .groupBy("agent_name")
    .orderBy(sql`min(id)`)
    .limit(limit)
    .execute();
  return rows.map((r) => r.agent_name);
}

/** Postgres lock_not_available: another publisher is draining that agent's events right now. */
export const isLockNotAvailable = (err: unknown) => (err as { code?: string })?.code === "55P03";
