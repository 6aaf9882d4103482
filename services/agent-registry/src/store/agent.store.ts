import { CompiledQuery, sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { AgentRuntime, AgentView } from "@meridian/contracts";
import type { Agent, AgentRegistryDatabase } from "./tables.js";

export type AgentDb = Kysely<AgentRegistryDatabase>;

export type NewAgent = Omit<AgentView, "id" | "created_at" | "updated_at" | "version">;

export type AgentChanges = Partial<
  Pick<NewAgent, "description" | "runtime" | "config" | "timeout_ms" | "max_attempts" | "backoff_ms" | "concurrency" | "enabled" | "visibility">
>;

export interface AgentFilter {
  runtime?: AgentRuntime;
  owner?: string;
  enabled?: boolean;
  q?: string;
  /** Unset: every agent. Set: this user's agents and the enabled public ones. */
  visibleTo?: string;
}

const live = (eb: ExpressionBuilder<AgentRegistryDatabase, "agents">) => eb("agents.deleted_at", "is", null);

/**
 * Insert, or bring a deleted agent of that name back with a new id and its version still rising.
 * Undefined when a live agent already has the name.
 */
export async function insertAgent(db: AgentDb, agent: NewAgent): Promise<Agent | undefined> {
  const values = { ...agent, config: JSON.stringify(agent.config) };
  return db
    .insertInto("agents")
    .values(values)
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet((eb) => ({
          ...values,
          id: sql<string>`gen_random_uuid()`,
          version: eb("agents.version", "+", 1),
          created_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
          deleted_at: null,
        }))
        .where("agents.deleted_at", "is not", null),
    )
    .returningAll()
    .executeTakeFirst();
}

/** A live agent; `forUpdate` locks its row until the transaction ends, so changes to one agent queue up. */
export async function findAgent(db: AgentDb, name: string, { forUpdate = false } = {}): Promise<Agent | undefined> {
  const query = db.selectFrom("agents").selectAll().where("name", "=", name).where(live);
  return (forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

export async function findAgentById(db: AgentDb, id: string): Promise<Agent | undefined> {
  return db.selectFrom("agents").selectAll().where("id", "=", id).where(live).executeTakeFirst();
}

export async function updateAgent(db: AgentDb, name: string, changes: AgentChanges): Promise<Agent | undefined> {
  const { config, ...rest } = changes;
  return db
    .updateTable("agents")
    .set((eb) => ({
      ...rest,
      ...(config !== undefined ? { config: JSON.stringify(config) } : {}),
      version: eb("agents.version", "+", 1),
      updated_at: sql<Date>`now()`,
    }))
    .where("name", "=", name)
    .where(live)
    .returningAll()
    .executeTakeFirst();
}

/** Leaves a tombstone (see the first migration); the returned row is the agent as deleted. */
export async function deleteAgent(db: AgentDb, name: string): Promise<Agent | undefined> {
  return db
    .updateTable("agents")
    .set((eb) => ({ version: eb("agents.version", "+", 1), updated_at: sql<Date>`now()`, deleted_at: sql<Date>`now()` }))
    .where("name", "=", name)
    .where(live)
    .returningAll()
    .executeTakeFirst();
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The WHERE of a list, written out: the hot path skips building and compiling a query tree per call. */
function listWhere({ runtime, owner, enabled, q, visibleTo }: AgentFilter, params: unknown[]): string {
  const $ = (value: unknown) => `$${params.push(value)}`;
  const where = ["deleted_at is null"];
  if (runtime !== undefined) where.push(`runtime = ${$(runtime)}`);
  if (owner !== undefined) where.push(`owner_id = ${$(owner)}`);
  if (enabled !== undefined) where.push(`enabled = ${$(enabled)}`);
  if (q !== undefined) {
    const pattern = $(likePattern(q));
    where.push(`(name ilike ${pattern} or description ilike ${pattern})`);
  }
  if (visibleTo !== undefined) where.push(`(owner_id = ${$(visibleTo)} or (visibility = 'public' and enabled))`);
  return where.join(" and ");
}

/**
 * One page and the total in one statement: the count is a subquery PostgreSQL runs once, so the page itself can
 * still stop after `limit` rows in name order. A page past the end has no row to carry the total, so only then
 * is it counted on its own.
 */
export async function listAgents(
  db: AgentDb,
  filter: AgentFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: Agent[]; total: number }> {
  const params: unknown[] = [];
  const where = listWhere(filter, params);
  const { rows } = await db.executeQuery<Agent & { total: string }>(
    CompiledQuery.raw(
      `select *, (select count(*) from agents where ${where}) as total from agents where ${where}
       order by name limit $${params.push(page.limit)} offset $${params.push(page.offset)}`,
      params,
    ),
  );
  if (rows.length > 0 || page.offset === 0) return { rows, total: Number(rows[0]?.total ?? 0) };
  const counted: unknown[] = [];
  const count = await db.executeQuery<{ total: string }>(CompiledQuery.raw(`select count(*) as total from agents where ${listWhere(filter, counted)}`, counted));
  return { rows, total: Number(count.rows[0]!.total) };
}

/** Names of an owner's live agents, a bounded page at a time (a deleted account's agents). */
export async function ownedAgentNames(db: AgentDb, ownerId: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom("agents").select("name").where("owner_id", "=", ownerId).where(live).orderBy("name").limit(limit).execute();
  return rows.map((r) => r.name);
}
