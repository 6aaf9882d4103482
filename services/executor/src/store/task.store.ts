import { sql, type Kysely, type RawBuilder } from "kysely";
import type { ListTasksRequest, TaskError, TaskEvent, TaskEventType, TaskStatus } from "@meridian/contracts";
import type { ExecutorDatabase, Task } from "./tables.js";

export type ExecutorDb = Kysely<ExecutorDatabase>;

/**
 * Every state transition of a task is one statement: the change, fenced in its WHERE, and the event that
 * reports it (numbered from the row's `event_seq` and kept in the outbox) together. A transition whose
 * fence does not hold writes nothing, its event included.
 */

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

/** The event of a transition, built from the row the statement just wrote (`t`). */
const eventOf = (type: TaskEventType, data: RawBuilder<unknown>) => sql`jsonb_build_object(
  'task_id', t.id, 'seq', t.event_seq, 'type', ${type}::text, 'agent', t.agent, 'agent_id', t.agent_id,
  'owner_id', t.owner_id, 'attempt', t.attempts, 'data', ${data},
  'at', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'correlation_id', t.correlation_id)`;

const jsonb = (value: unknown) => sql`${JSON.stringify(value ?? {})}::jsonb`;

/** What the hot path needs of a task after a transition: never its input or result back. */
export interface TaskRef {
  id: string;
  agent: string;
  agent_id: string;
  owner_id: string;
  generation: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  backoff_ms: number[];
  correlation_id: string;
}
const REF_COLUMNS = sql.raw("t.id, t.agent, t.agent_id, t.owner_id, t.generation, t.attempts, t.max_attempts, t.timeout_ms, t.backoff_ms, t.correlation_id");

export interface NewTask {
  id: string;
  agent: string;
  agent_id: string;
  agent_version: number;
  owner_id: string;
  input: unknown;
  max_attempts: number;
  timeout_ms: number;
  backoff_ms: number[];
  correlation_id: string;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  /** Data of the `queued` event. */
  event_data: Record<string, unknown>;
}

/**
 * Insert many queued tasks and their `queued` events in one statement (one commit for a whole batch).
 * Answers the inserted rows; a row whose idempotency key this owner used already is not inserted.
 */
/** What became of one new task: stored with its `queued` event, refused by the owner's queue cap, or neither (a replayed idempotency key). */
export type InsertOutcome = { task: Task; event: TaskEvent } | "over_cap";

/**
 * Every submission of the moment in one statement. The per-owner cap on queued tasks is folded in: the owners'
 * queued counts come from the partial index `tasks_owner_active_idx` (counted up to the cap + 1, so the cost is
 * bounded by the cap, not by the backlog), and rows past `maxQueuedPerOwner` (0: no cap),
 * in submission order, are not inserted but answered as refused. Exact within one statement; two statements running
 * at once see the same count, so a burst can pass the cap by at most what the other in-flight statements admit.
 */
export async function insertTasks(db: ExecutorDb, tasks: NewTask[], maxQueuedPerOwner = 0): Promise<Map<string, InsertOutcome>> {
  const rows = tasks.map((t, ord) => ({ ...t, ord, input: t.input ?? null, backoff_ms: t.backoff_ms }));
  const { rows: out } = await sql<Task & { event: TaskEvent | null; over_cap: boolean }>`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(
        id uuid, agent text, agent_id uuid, agent_version int, owner_id uuid, input jsonb, max_attempts int, timeout_ms int,
        backoff_ms int[], correlation_id text, idempotency_key text, request_fingerprint text, event_data jsonb, ord int)
    ), queued as (
      select o.owner_id, (select count(*) from (
        select 1 from tasks q where q.owner_id = o.owner_id and q.status = 'queued' limit ${maxQueuedPerOwner} + 1) c) as n
      from (select distinct owner_id from input) o where ${maxQueuedPerOwner} > 0
    ), fresh as (
      select i.id, coalesce(q.n, 0) + row_number() over (partition by i.owner_id order by i.ord) as position
      from input i left join queued q on q.owner_id = i.owner_id
      where ${maxQueuedPerOwner} > 0 and not exists (
        select 1 from tasks e where e.owner_id = i.owner_id and e.idempotency_key = i.idempotency_key)
    ), over_cap as (
      select id from fresh where position > ${maxQueuedPerOwner}
    ), ins as (
      insert into tasks as t (id, agent, agent_id, agent_version, owner_id, status, input, max_attempts, timeout_ms, backoff_ms,
        correlation_id, idempotency_key, request_fingerprint, event_seq)
      select id, agent, agent_id, agent_version, owner_id, 'queued', input, max_attempts, timeout_ms, backoff_ms,
        correlation_id, idempotency_key, request_fingerprint, 1
      from input where id not in (select id from over_cap)
      on conflict (owner_id, idempotency_key) where idempotency_key is not null do nothing
      returning t.*
    ), ev as (
      insert into task_event_outbox (task_id, seq, event)
      select t.id, 1, ${eventOf("queued", sql`i.event_data`)} from ins t join input i on i.id = t.id
      returning task_id, event
    )
    select ins.*, ev.event, false as over_cap from ins join ev on ev.task_id = ins.id
    union all
    select (jsonb_populate_record(null::tasks, jsonb_build_object('id', o.id))).*, null::jsonb, true from over_cap o`.execute(db);
  return new Map(out.map(({ event, over_cap, ...task }) => [task.id, over_cap ? "over_cap" : { task: task as Task, event: event! }]));
}

/** Tasks of this owner holding these idempotency keys (the replay path of a submission). */
export async function tasksByIdempotencyKeys(db: ExecutorDb, ownerId: string, keys: string[]): Promise<Task[]> {
  if (keys.length === 0) return [];
  return db.selectFrom("tasks").selectAll().where("owner_id", "=", ownerId).where("idempotency_key", "in", keys).execute();
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

/**
 * The outbox bookkeeping of many confirmed publishes in one statement: queue messages the stream
 * confirmed (`published_attempt`), and events that leave the outbox.
 */
export async function confirmPublished(
  db: ExecutorDb,
  messages: { id: string; generation: number; attempt: number }[],
  events: { task_id: string; seq: number }[],
): Promise<void> {
  await sql`
    with marked as (
      update tasks t set published_attempt = m.attempt
      from unnest(${messages.map((m) => m.id)}::uuid[], ${messages.map((m) => m.generation)}::int[], ${messages.map((m) => m.attempt)}::int[])
        as m(id, generation, attempt)
      where t.id = m.id and t.generation = m.generation and t.published_attempt < m.attempt
    )
    delete from task_event_outbox o
    using unnest(${events.map((e) => e.task_id)}::uuid[], ${events.map((e) => e.seq)}::int[]) as d(task_id, seq)
    where o.task_id = d.task_id and o.seq = d.seq`.execute(db);
}

/** Queued tasks whose next queue message the stream never confirmed, oldest first. */
export async function unpublishedTasks(db: ExecutorDb, olderThanMs: number, limit = 500): Promise<TaskRef[]> {
  const { rows } = await sql<TaskRef>`
    select ${REF_COLUMNS} from tasks t
    where t.status = 'queued' and t.published_attempt <= t.attempts
      and t.updated_at < now() - make_interval(secs => ${olderThanMs / 1000})
    order by t.updated_at limit ${limit}`.execute(db);
  return rows;
}

/** Queued tasks of these agents that are due now and were queued a while ago (their message may be gone). */
export async function dueQueuedTasks(db: ExecutorDb, agentIds: string[], olderThanMs: number, limit = 500): Promise<TaskRef[]> {
  if (agentIds.length === 0) return [];
  const { rows } = await sql<TaskRef>`
    select ${REF_COLUMNS} from tasks t
    where t.agent_id = any(${agentIds}::uuid[]) and t.status = 'queued' and (t.not_before is null or t.not_before <= now())
      and t.updated_at < now() - make_interval(secs => ${olderThanMs / 1000})
    order by t.updated_at limit ${limit}`.execute(db);
  return rows;
}

/** Agents that have queued or running tasks (each needs a consumer). */
export async function activeAgentIds(db: ExecutorDb): Promise<string[]> {
  const { rows } = await sql<{ agent_id: string }>`select distinct agent_id from tasks where status in ('queued', 'running')`.execute(db);
  return rows.map((r) => r.agent_id);
}

export interface Claim {
  id: string;
  generation: number;
  attempt: number;
  executorId: string;
  leaseMs: number;
  /** Data of the `started` event. */
  data: Record<string, unknown>;
}

/**
 * Take attempts of tasks, each fresh from the queue (and due) or abandoned by an executor whose lease ran
 * out, and record their `started` events: one statement for all of them. A claim whose task is in any other
 * state (early, stale, a duplicate) writes nothing and answers undefined in its place.
 */
export async function claimAttempts(db: ExecutorDb, claims: Claim[]): Promise<Array<{ task: Task; event: TaskEvent } | undefined>> {
  const rows = claims.map((c) => ({ id: c.id, generation: c.generation, attempt: c.attempt, executor: c.executorId, lease_ms: c.leaseMs, data: c.data }));
  const { rows: out } = await sql<Task & { event: TaskEvent }>`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(id uuid, generation int, attempt int, executor text, lease_ms int, data jsonb)
    ), claimed as (
      update tasks t set status = 'running', attempts = i.attempt, lease_owner = i.executor,
        lease_expires_at = now() + make_interval(secs => i.lease_ms / 1000.0), started_at = coalesce(t.started_at, now()),
        updated_at = now(), not_before = null, event_seq = t.event_seq + 1, published_attempt = greatest(t.published_attempt, i.attempt)
      from input i
      where t.id = i.id and t.generation = i.generation and (t.not_before is null or t.not_before <= now())
        and ((t.status = 'queued' and t.attempts = i.attempt - 1)
          or (t.status = 'running' and t.attempts = i.attempt and t.lease_expires_at < now()))
      returning t.*, i.data as started_data
    ), ev as (
      insert into task_event_outbox (task_id, seq, event) select t.id, t.event_seq, ${eventOf("started", sql`t.started_data`)} from claimed t
      returning task_id, event
    )
    select claimed.*, ev.event from claimed join ev on ev.task_id = claimed.id`.execute(db);
  const byId = new Map(out.map(({ event, started_data: _d, ...task }: Task & { event: TaskEvent; started_data?: unknown }) => [task.id, { task: task as Task, event }]));
  return claims.map((c) => byId.get(c.id));
}

export async function claimAttempt(db: ExecutorDb, c: Claim): Promise<{ task: Task; event: TaskEvent } | undefined> {
  return (await claimAttempts(db, [c]))[0];
}

/** The attempt a transition must still own: this task, this generation and attempt, running, leased by us. */
export interface Fence {
  id: string;
  generation: number;
  attempt: number;
  executorId: string;
  /** A remote worker's fence also names its agent: it may touch no other agent's task. */
  agentId?: string;
}
const fenceHolds = (f: Fence) =>
  sql`t.id = ${f.id} and t.generation = ${f.generation} and t.attempts = ${f.attempt} and t.status = 'running' and t.lease_owner = ${f.executorId}${
    f.agentId ? sql` and t.agent_id = ${f.agentId}` : sql``
  }`;

export async function renewLease(db: ExecutorDb, f: Fence, leaseMs: number): Promise<boolean> {
  const r = await sql`update tasks t set lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000}) where ${fenceHolds(f)}`.execute(db);
  return Number(r.numAffectedRows) === 1;
}

/** The transition an attempt's outcome causes (see domain/outcome.ts). */
export type Settlement =
  | { status: Extract<TaskStatus, "succeeded" | "failed" | "timed_out" | "dead_lettered">; result?: unknown; error?: TaskError; event: TaskEventType; data: Record<string, unknown> }
  | { status: "queued"; retryInMs: number; error: TaskError; event: "retrying"; data: Record<string, unknown> }
  | { status: "released" };

/**
 * Store attempts' outcomes and their events, each fenced: one statement for all of them. Undefined in the
 * place of an attempt that no longer owns its task.
 */
export async function settleAttempts(db: ExecutorDb, items: { fence: Fence; settlement: Exclude<Settlement, { status: "released" }> }[]): Promise<Array<{ task: TaskRef; event: TaskEvent } | undefined>> {
  const rows = items.map(({ fence: f, settlement: s }) => ({
    id: f.id,
    generation: f.generation,
    attempt: f.attempt,
    executor: f.executorId,
    agent_id: f.agentId ?? null,
    status: s.status,
    final: s.status !== "queued",
    result: s.status !== "queued" && s.result !== undefined ? s.result : null,
    error: s.error ?? null,
    retry_ms: s.status === "queued" ? s.retryInMs : null,
    event_type: s.event,
    data: s.data,
  }));
  const { rows: out } = await sql<TaskRef & { event: TaskEvent }>`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(id uuid, generation int, attempt int, executor text, agent_id uuid,
        status text, final boolean, result jsonb, error jsonb, retry_ms int, event_type text, data jsonb)
    ), settled as (
      update tasks t set status = i.status, result = case when i.final then i.result end, error = i.error,
        finished_at = case when i.final then now() end,
        not_before = case when i.final then null else now() + make_interval(secs => i.retry_ms / 1000.0) end,
        lease_owner = null, lease_expires_at = null, updated_at = now(), event_seq = t.event_seq + 1
      from input i
      where t.id = i.id and t.generation = i.generation and t.attempts = i.attempt and t.status = 'running' and t.lease_owner = i.executor
        and (i.agent_id is null or t.agent_id = i.agent_id)
      returning t.*, i.event_type, i.data as event_data
    ), ev as (
      insert into task_event_outbox (task_id, seq, event)
      select t.id, t.event_seq, ${eventOf("succeeded", sql`t.event_data`)} || jsonb_build_object('type', t.event_type) from settled t
      returning task_id, event
    )
    select ${REF_COLUMNS}, ev.event from settled t join ev on ev.task_id = t.id`.execute(db);
  const byId = new Map(out.map(({ event, ...task }) => [task.id, { task, event }]));
  return items.map((i) => byId.get(i.fence.id));
}

/** Store an attempt's outcome and its event, fenced. Undefined when the attempt no longer owns the task. */
export async function settleAttempt(db: ExecutorDb, f: Fence, s: Settlement): Promise<{ task: TaskRef; event?: TaskEvent } | undefined> {
  if (s.status === "released") {
    // Shutdown gave the attempt back before it finished: it does not count, and no event says otherwise.
    const { rows } = await sql<TaskRef>`
      update tasks t set status = 'queued', attempts = ${f.attempt - 1}, lease_owner = null, lease_expires_at = null, updated_at = now()
      where ${fenceHolds(f)} returning ${REF_COLUMNS}`.execute(db);
    return rows[0] && { task: rows[0] };
  }
  return (await settleAttempts(db, [{ fence: f, settlement: s }]))[0];
}

/** A progress report or a log line of a running attempt, fenced: a run that lost its task writes nothing. */
export async function recordSideEvent(
  db: ExecutorDb,
  f: Fence,
  type: "progress" | "log",
  data: Record<string, unknown>,
  log?: { level: string; message: string },
): Promise<TaskEvent | undefined> {
  const { rows } = await sql<{ event: TaskEvent }>`
    with t as (
      update tasks t set event_seq = event_seq + 1 where ${fenceHolds(f)} returning t.*
    ), logged as (
      insert into task_logs (task_id, attempt, level, message)
      select t.id, t.attempts, ${log?.level ?? "info"}, ${log?.message ?? ""} from t where ${log !== undefined}
    )
    insert into task_event_outbox (task_id, seq, event) select t.id, t.event_seq, ${eventOf(type, jsonb(data))} from t
    returning event`.execute(db);
  return rows[0]?.event;
}

/**
 * Cancel a queued or running task the caller may change (its owner, or anyone when `ownerId` is null), with
 * its event, in one statement; `was_running` comes from the row as it was under the lock.
 */
export async function cancelTask(
  db: ExecutorDb,
  id: string,
  ownerId: string | null,
  data: Record<string, unknown>,
): Promise<{ task: Task; wasRunning: boolean; event: TaskEvent } | undefined> {
  const { rows } = await sql<Task & { was_running: boolean; event: TaskEvent }>`
    with old as (
      select id, status from tasks where id = ${id} and status in ('queued', 'running')
        and (${ownerId}::uuid is null or owner_id = ${ownerId}::uuid) for update
    ), cancelled as (
      update tasks t set status = 'cancelled', finished_at = now(), updated_at = now(), lease_owner = null, lease_expires_at = null,
        event_seq = event_seq + 1
      from old where t.id = old.id returning t.*, old.status = 'running' as was_running
    ), ev as (
      insert into task_event_outbox (task_id, seq, event)
      select t.id, t.event_seq, ${eventOf("cancelled", sql`${jsonb(data)} || jsonb_build_object('was_running', t.was_running)`)} from cancelled t
      returning event
    )
    select cancelled.*, (select event from ev) as event from cancelled`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { was_running, event, ...task } = row;
  return { task: task as Task, wasRunning: was_running, event };
}

/** Whose active tasks a bulk cancel takes: one agent's (deleted) or one owner's (account deleted). */
export type ActiveTasksOf = { agentId: string } | { ownerId: string };

/** Up to `limit` queued or running tasks of one agent or owner cancelled with this error, each with its `cancelled` event. */
export async function cancelActiveTasks(
  db: ExecutorDb,
  of: ActiveTasksOf,
  error: TaskError,
  data: Record<string, unknown>,
  limit = 500,
): Promise<{ id: string; was_running: boolean; event: TaskEvent }[]> {
  const whose = "agentId" in of ? sql`agent_id = ${of.agentId}` : sql`owner_id = ${of.ownerId}`;
  const { rows } = await sql<{ id: string; was_running: boolean; event: TaskEvent }>`
    with old as (
      select id, status from tasks where ${whose} and status in ('queued', 'running') limit ${limit} for update skip locked
    ), cancelled as (
      update tasks t set status = 'cancelled', finished_at = now(), updated_at = now(), lease_owner = null, lease_expires_at = null,
        event_seq = event_seq + 1, error = ${json(error)}::jsonb
      from old where t.id = old.id returning t.*, old.status = 'running' as was_running
    )
    insert into task_event_outbox as o (task_id, seq, event)
    select t.id, t.event_seq, ${eventOf("cancelled", sql`${jsonb(data)} || jsonb_build_object('was_running', t.was_running)`)} from cancelled t
    returning o.task_id as id, (o.event->'data'->>'was_running')::boolean as was_running, o.event`.execute(db);
  return rows;
}

/** An admin gives a finished task a new generation (attempts start again from 1), with its `queued` event. */
export async function requeueTask(db: ExecutorDb, id: string, data: Record<string, unknown>): Promise<{ task: Task; event: TaskEvent } | undefined> {
  const { rows } = await sql<Task & { event: TaskEvent }>`
    with requeued as (
      update tasks t set status = 'queued', attempts = 0, published_attempt = 0, generation = generation + 1, result = null, error = null,
        not_before = null, finished_at = null, updated_at = now(), event_seq = event_seq + 1
      where t.id = ${id} and t.status in ('failed', 'dead_lettered', 'timed_out', 'cancelled')
      returning t.*
    ), ev as (
      insert into task_event_outbox (task_id, seq, event)
      select t.id, t.event_seq, ${eventOf("queued", sql`${jsonb(data)} || jsonb_build_object('generation', t.generation)`)} from requeued t
      returning event
    )
    select requeued.*, (select event from ev) as event from requeued`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { event, ...task } = row;
  return { task: task as Task, event };
}

/**
 * Running tasks whose lease ran out `graceMs` ago (their executor died or lost the database, and the
 * server's redelivery did not take them back): the attempt counts, and the task goes back on the queue
 * or, out of attempts, to dead letters. One statement for up to `limit` tasks, each with its event.
 */
export async function sweepExpiredLeases(db: ExecutorDb, graceMs: number, limit = 200): Promise<{ task: TaskRef; event: TaskEvent }[]> {
  const error = { code: "LEASE_EXPIRED", message: "The executor running this attempt stopped answering", retryable: true };
  const { rows } = await sql<TaskRef & { event: TaskEvent; status: TaskStatus }>`
    with expired as (
      select id from tasks where status = 'running' and lease_expires_at < now() - make_interval(secs => ${graceMs / 1000})
      order by lease_expires_at limit ${limit} for update skip locked
    ), swept as (
      update tasks t set
        status = case when t.attempts >= t.max_attempts then 'dead_lettered' else 'queued' end,
        finished_at = case when t.attempts >= t.max_attempts then now() end,
        not_before = case when t.attempts >= t.max_attempts then null
          else now() + make_interval(secs => coalesce(t.backoff_ms[t.attempts], t.backoff_ms[array_length(t.backoff_ms, 1)], 1000) / 1000.0) end,
        error = ${json(error)}::jsonb, lease_owner = null, lease_expires_at = null, updated_at = now(), event_seq = event_seq + 1
      from expired where t.id = expired.id
      returning t.*
    ), ev as (
      insert into task_event_outbox as o (task_id, seq, event)
      select t.id, t.event_seq, ${eventOf("retrying", jsonb({}))}
        || jsonb_build_object('type', case when t.status = 'dead_lettered' then 'dead_lettered' else 'retrying' end,
             'data', case when t.status = 'dead_lettered' then jsonb_build_object('error', t.error, 'attempts', t.attempts)
               else jsonb_build_object('error', t.error, 'next_attempt', t.attempts + 1) end)
      from swept t
      returning o.task_id, o.event
    )
    select ${REF_COLUMNS}, t.status, ev.event from swept t join ev on ev.task_id = t.id`.execute(db);
  return rows.map(({ event, status: _status, ...task }) => ({ task, event }));
}

/** Events left in the outbox for a while (their executor crashed or lost NATS), oldest first. */
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

/** An event that can never be published (too large for the server) is replaced by a smaller one, once. */
export async function replaceOutboxEvent(db: ExecutorDb, event: TaskEvent): Promise<void> {
  await db.updateTable("task_event_outbox").set({ event: JSON.stringify(event) }).where("task_id", "=", event.task_id).where("seq", "=", event.seq).execute();
}

export async function listLogs(db: ExecutorDb, taskId: string, limit = 1000) {
  return db.selectFrom("task_logs").select(["attempt", "level", "message", "at"]).where("task_id", "=", taskId).orderBy("id").limit(limit).execute();
}
