import { sql, type Kysely } from "kysely";
import type { ListTasksRequest, TaskError, TaskEvent, TaskStatus } from "@meridian/contracts";
import type { ExecutorDatabase, Task } from "./tables.js";

export type ExecutorDb = Kysely<ExecutorDatabase>;

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

export interface NewTask {
  id: string;
  agent: string;
  owner_id: string;
  input: unknown;
  max_attempts: number;
  timeout_ms: number;
  backoff_ms: number[];
  correlation_id: string;
  idempotency_key: string | null;
  request_fingerprint: string | null;
}

/** Insert a queued task; with an idempotency key already used by this owner, answer the existing task. */
export async function insertTask(db: ExecutorDb, task: NewTask): Promise<{ task: Task; created: boolean }> {
  const inserted = await db
    .insertInto("tasks")
    .values({ ...task, status: "queued", input: json(task.input) })
    .onConflict((oc) => oc.columns(["owner_id", "idempotency_key"]).where("idempotency_key", "is not", null).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { task: inserted, created: true };
  const existing = await db
    .selectFrom("tasks")
    .selectAll()
    .where("owner_id", "=", task.owner_id)
    .where("idempotency_key", "=", task.idempotency_key)
    .executeTakeFirstOrThrow();
  return { task: existing, created: false };
}

export async function findTask(db: ExecutorDb, id: string): Promise<Task | undefined> {
  return db.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function listTasks(db: ExecutorDb, filter: ListTasksRequest, ownerId: string | undefined): Promise<{ items: Task[]; total: number }> {
  let query = db.selectFrom("tasks");
  if (ownerId) query = query.where("owner_id", "=", ownerId);
  if (filter.agent) query = query.where("agent", "=", filter.agent);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (filter.since) query = query.where("created_at", ">=", new Date(filter.since));
  if (filter.until) query = query.where("created_at", "<", new Date(filter.until));
  const [items, count] = await Promise.all([
    query.selectAll().orderBy("created_at", "desc").orderBy("id").limit(filter.limit).offset(filter.offset).execute(),
    query.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { items, total: Number(count.n) };
}

/** The stream confirmed the queue message of this attempt (outbox bookkeeping). */
export async function markPublished(db: ExecutorDb, id: string, generation: number, attempt: number): Promise<void> {
  await db
    .updateTable("tasks")
    .set({ published_attempt: attempt })
    .where("id", "=", id)
    .where("generation", "=", generation)
    .where("published_attempt", "<", attempt)
    .execute();
}

/** Queued tasks whose next message the stream never confirmed, oldest first. */
export async function unpublishedTasks(db: ExecutorDb, olderThanMs: number, limit = 100): Promise<Task[]> {
  return db
    .selectFrom("tasks")
    .selectAll()
    .where("status", "=", "queued")
    .where(sql<boolean>`published_attempt < attempts + 1`)
    .where("updated_at", "<", sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy("updated_at")
    .limit(limit)
    .execute();
}

/**
 * Fencing, step one: take attempt `attempt` of the task, either fresh from the queue or abandoned by
 * an executor whose lease ran out. Any other state means this message is stale or a duplicate.
 */
export async function claimAttempt(
  db: ExecutorDb,
  claim: { id: string; generation: number; attempt: number; executorId: string; leaseMs: number },
): Promise<Task | undefined> {
  return db
    .updateTable("tasks")
    .set({
      status: "running",
      attempts: claim.attempt,
      lease_owner: claim.executorId,
      lease_expires_at: sql`now() + make_interval(secs => ${claim.leaseMs / 1000})`,
      started_at: sql`coalesce(started_at, now())`,
      updated_at: sql`now()`,
      not_before: null,
    })
    .where("id", "=", claim.id)
    .where("generation", "=", claim.generation)
    .where((eb) =>
      eb.or([
        eb.and([eb("status", "=", "queued"), eb("attempts", "=", claim.attempt - 1)]),
        eb.and([eb("status", "=", "running"), eb("attempts", "=", claim.attempt), eb("lease_expires_at", "<", sql<Date>`now()`)]),
      ]),
    )
    .returningAll()
    .executeTakeFirst();
}

type Fence = { id: string; attempt: number; executorId: string };

const fenced = (db: ExecutorDb, f: Fence) =>
  db
    .updateTable("tasks")
    .where("id", "=", f.id)
    .where("attempts", "=", f.attempt)
    .where("status", "=", "running")
    .where("lease_owner", "=", f.executorId);

export async function renewLease(db: ExecutorDb, f: Fence, leaseMs: number): Promise<boolean> {
  const r = await fenced(db, f)
    .set({ lease_expires_at: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Fencing, step two: store the outcome only if this executor still holds this attempt. */
export async function finishAttempt(
  db: ExecutorDb,
  f: Fence,
  outcome: { status: Extract<TaskStatus, "succeeded" | "failed" | "timed_out" | "dead_lettered">; result?: unknown; error?: TaskError },
): Promise<Task | undefined> {
  return fenced(db, f)
    .set({
      status: outcome.status,
      result: json(outcome.result),
      error: json(outcome.error ?? null),
      finished_at: sql`now()`,
      updated_at: sql`now()`,
      lease_owner: null,
      lease_expires_at: null,
    })
    .returningAll()
    .executeTakeFirst();
}

/** A failed attempt with attempts left: back to queued, the next attempt not before `delayMs`. */
export async function scheduleRetry(db: ExecutorDb, f: Fence, error: TaskError, delayMs: number): Promise<Task | undefined> {
  return fenced(db, f)
    .set({
      status: "queued",
      error: json(error),
      not_before: sql`now() + make_interval(secs => ${delayMs / 1000})`,
      updated_at: sql`now()`,
      lease_owner: null,
      lease_expires_at: null,
    })
    .returningAll()
    .executeTakeFirst();
}

/** Shutdown gave the attempt back before it finished: it does not count, and runs again elsewhere. */
export async function releaseAttempt(db: ExecutorDb, f: Fence): Promise<boolean> {
  const r = await fenced(db, f)
    .set({ status: "queued", attempts: f.attempt - 1, lease_owner: null, lease_expires_at: null, updated_at: sql`now()` })
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function cancelTask(db: ExecutorDb, id: string): Promise<{ task: Task; wasRunning: boolean } | undefined> {
  const before = await db.selectFrom("tasks").select("status").where("id", "=", id).executeTakeFirst();
  const task = await db
    .updateTable("tasks")
    .set({ status: "cancelled", finished_at: sql`now()`, updated_at: sql`now()`, lease_owner: null, lease_expires_at: null })
    .where("id", "=", id)
    .where("status", "in", ["queued", "running"])
    .returningAll()
    .executeTakeFirst();
  return task ? { task, wasRunning: before?.status === "running" } : undefined;
}

/** An admin gives a finished task a new generation: attempts start again from 1. */
export async function requeueTask(db: ExecutorDb, id: string): Promise<Task | undefined> {
  return db
    .updateTable("tasks")
    .set({
      status: "queued",
      attempts: 0,
      published_attempt: 0,
      generation: sql`generation + 1`,
      result: null,
      error: null,
      not_before: null,
      finished_at: null,
      updated_at: sql`now()`,
    })
    .where("id", "=", id)
    .where("status", "in", ["failed", "dead_lettered", "timed_out", "cancelled"])
    .returningAll()
    .executeTakeFirst();
}

/**
 * Take the task's next event number and keep the event in the outbox, in one statement: a crash after
 * it leaves an event to publish again, never a gap in the numbers.
 */
export async function recordEvent(db: ExecutorDb, event: Omit<TaskEvent, "seq">): Promise<TaskEvent> {
  const { rows } = await sql<{ seq: number }>`
    with next as (update tasks set event_seq = event_seq + 1 where id = ${event.task_id} returning event_seq)
    insert into task_event_outbox (task_id, seq, event)
    select ${event.task_id}, next.event_seq, ${JSON.stringify(event)}::jsonb from next
    returning seq`.execute(db);
  const row = rows[0];
  if (!row) throw new Error(`task ${event.task_id} not found`);
  return { ...event, seq: row.seq };
}

/** The stream confirmed the event: it leaves the outbox. */
export async function deleteOutboxEvent(db: ExecutorDb, taskId: string, seq: number): Promise<void> {
  await db.deleteFrom("task_event_outbox").where("task_id", "=", taskId).where("seq", "=", seq).execute();
}

/** Events left unconfirmed for a while (their executor crashed or lost NATS), oldest first. */
export async function staleOutboxEvents(db: ExecutorDb, olderThanMs: number, limit = 500): Promise<TaskEvent[]> {
  const rows = await db
    .selectFrom("task_event_outbox")
    .select(["seq", "event"])
    .where("created_at", "<", sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy("created_at")
    .orderBy("task_id")
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...(r.event as Omit<TaskEvent, "seq">), seq: r.seq }));
}

export async function insertLog(db: ExecutorDb, line: { task_id: string; attempt: number; level: string; message: string }): Promise<void> {
  await db.insertInto("task_logs").values(line).execute();
}

export async function listLogs(db: ExecutorDb, taskId: string, limit = 1000) {
  return db.selectFrom("task_logs").select(["attempt", "level", "message", "at"]).where("task_id", "=", taskId).orderBy("id").limit(limit).execute();
}
