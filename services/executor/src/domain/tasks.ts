import { randomUUID } from "node:crypto";
import {
  canRunAgent,
  hasScope,
  isAdmin,
  isFinalStatus,
  MeridianError,
  Subjects,
  taskEventSubject,
  type AgentView,
  type BatchItemResult,
  type BatchTaskItem,
  type CancelRunningMessage,
  type ListTasksRequest,
  type OwnedTasksCancelled,
  OWNER_DELETED,
  type Principal,
  type SubmitBatchResult,
  type SubmitTaskRequest,
  type TaskError,
  type TaskEvent,
  type TaskList,
  type TaskLogs,
  type TaskView,
} from "@meridian/contracts";
import { currentContext } from "@meridian/service-kit";
import { ensureAgentConsumerOnce } from "../queue/task-queue.js";
import * as store from "../store/task.store.js";
import type { Task } from "../store/tables.js";
import type { ExecutorDeps } from "./deps.js";
import { requestFingerprint, toTaskView } from "./task-views.js";

function requireScope(principal: Principal, scope: "tasks:read" | "tasks:write") {
  if (!hasScope(principal, scope)) throw new MeridianError("FORBIDDEN", `Missing scope: ${scope}`);
}

/** Another user's task does not exist, as far as the caller can tell. */
async function visibleTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<Task> {
  const task = await store.findTask(deps.db, id);
  if (!task || (task.owner_id !== principal.sub && !isAdmin(principal))) throw new MeridianError("NOT_FOUND", "Task not found");
  return task;
}

/** A private agent of someone else does not exist, as far as the caller can tell. */
async function runnableAgent(deps: ExecutorDeps, principal: Principal, name: string): Promise<AgentView> {
  const agent = await deps.agents.named(name);
  if (!agent || !canRunAgent(principal, agent)) throw new MeridianError("NOT_FOUND", `No agent named '${name}'`);
  if (!agent.enabled) throw new MeridianError("AGENT_DISABLED", `Agent ${agent.name} is disabled`);
  return agent;
}

/**
 * A batcher's write: one statement for every item of the moment. Should that statement fail (a bad row, a
 * deadlock between two batches), each item is tried on its own, so one item fails alone and nobody else.
 */
export function coalesced<I, O>(write: (items: I[]) => Promise<O[]>) {
  return async (items: I[]): Promise<O[]> => {
    try {
      return await write(items);
    } catch (err) {
      if (items.length === 1) throw err;
      return Promise.all(items.map(async (item) => (await write([item]))[0]!));
    }
  };
}

/** `maxQueuedPerOwner`: the cap on an owner's queued tasks, checked inside the same statement (0: none). */
export function insertCoalesced(db: store.ExecutorDb, maxQueuedPerOwner = 0) {
  return coalesced(async (tasks: store.NewTask[]) => {
    const outcomes = await store.insertTasks(db, tasks, maxQueuedPerOwner);
    return tasks.map((t) => outcomes.get(t.id));
  });
}

async function waitForOutcome(deps: ExecutorDeps, task: Task, seconds: number): Promise<Task> {
  if (seconds <= 0 || isFinalStatus(task.status)) return task;
  const sub = deps.nc.subscribe(taskEventSubject(task.owner_id, task.id));
  const timer = setTimeout(() => sub.unsubscribe(), seconds * 1000);
  try {
    const current = (await store.findTask(deps.db, task.id)) ?? task;
    if (isFinalStatus(current.status)) return current;
    for await (const msg of sub) {
      const type = msg.json<{ type: string }>().type;
      if (["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"].includes(type)) break;
    }
    return (await store.findTask(deps.db, task.id)) ?? current;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

export const MAX_INPUT_DEPTH = 64;

/** Nesting depth of a JSON value, without recursion (a hostile input cannot overflow the stack). */
function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (!v || typeof v !== "object") continue;
    max = Math.max(max, depth);
    if (max > MAX_INPUT_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * NUL and lone surrogates cannot be stored in PostgreSQL's jsonb, and deep nesting is an attack on every
 * reader: refuse them as bad input, not a 500.
 */
function storableInput(input: unknown): unknown {
  if (jsonDepth(input) > MAX_INPUT_DEPTH) throw new MeridianError("VALIDATION_FAILED", `'input' is nested deeper than ${MAX_INPUT_DEPTH} levels`);
  const text = JSON.stringify(input ?? null);
  if (/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i.test(text)) {
    throw new MeridianError("VALIDATION_FAILED", "'input' contains a NUL character or an unpaired surrogate");
  }
  return input ?? null;
}

type Accepted = { task: Task; created: boolean };

/**
 * Outbox order: the rows and their `queued` events are stored first (one statement for all the
 * submissions of the moment), then queue messages and events are published together; a crash in between
 * leaves rows the sweeper publishes later, never a lost task.
 */
async function accept(deps: ExecutorDeps, principal: Principal, items: BatchTaskItem[]): Promise<Array<Accepted | MeridianError>> {
  requireScope(principal, "tasks:write");
  if (principal.roles.length === 1 && principal.roles[0] === "readonly") throw new MeridianError("FORBIDDEN", "Read-only users cannot run tasks");
  const correlationId = currentContext()?.correlationId ?? randomUUID();
  const prepared = await Promise.all(
    items.map(async (item): Promise<{ row: store.NewTask; agent: AgentView } | MeridianError> => {
      try {
        const agent = await runnableAgent(deps, principal, item.agent);
        const input = storableInput(item.input);
        return {
          agent,
          row: {
            id: randomUUID(),
            agent: agent.name,
            agent_id: agent.id,
            agent_version: agent.version,
            owner_id: principal.sub,
            input,
            max_attempts: agent.max_attempts,
            timeout_ms: agent.timeout_ms,
            backoff_ms: agent.backoff_ms,
            correlation_id: correlationId,
            idempotency_key: item.idempotency_key ?? null,
            request_fingerprint: item.idempotency_key ? requestFingerprint(agent.id, input) : null,
            event_data: { agent_version: agent.version },
          },
        };
      } catch (err) {
        if (err instanceof MeridianError) return err;
        throw err;
      }
    }),
  );
  const valid = prepared.filter((p): p is { row: store.NewTask; agent: AgentView } => !(p instanceof MeridianError));
  const results = await deps.inserts.add(valid.map((p) => p.row));

  const agents = new Map(valid.map((p) => [p.agent.id, p.agent]));
  await Promise.all([...agents.values()].map((a) => ensureAgentConsumerOnce(deps.jsm, { agentId: a.id, concurrency: a.concurrency, ackWaitMs: deps.ackWaitMs })));
  const inserted = results.filter((r): r is { task: Task; event: TaskEvent } => r !== undefined && r !== "over_cap");
  await Promise.all(inserted.flatMap(({ task, event }) => [deps.relay.publishEvent(event), deps.relay.publishQueueMessage(task)]));
  for (const agent of agents.values()) deps.onAgentQueued(agent);

  // Rows not inserted: this owner used the key already. The same request gets the same task back.
  const replayKeys = valid.filter((_, i) => results[i] === undefined).map((p) => p.row.idempotency_key!);
  const existing = new Map((await store.tasksByIdempotencyKeys(deps.db, principal.sub, replayKeys)).map((t) => [t.idempotency_key, t]));

  let next = 0;
  return prepared.map((p) => {
    if (p instanceof MeridianError) return p;
    const result = results[next++];
    if (result === "over_cap") {
      return new MeridianError("TOO_MANY_QUEUED_TASKS", `You already have the maximum of ${deps.maxQueuedPerOwner} queued tasks; wait for some to start`);
    }
    if (result) return { task: result.task, created: true };
    const task = existing.get(p.row.idempotency_key);
    if (!task) return new MeridianError("CONFLICT", "The task with this Idempotency-Key could not be read back; retry");
    if (task.request_fingerprint !== p.row.request_fingerprint) {
      return new MeridianError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
    }
    return { task, created: false };
  });
}

export async function submitTask(deps: ExecutorDeps, principal: Principal, req: SubmitTaskRequest): Promise<TaskView> {
  const [outcome] = await accept(deps, principal, [req]);
  if (outcome instanceof MeridianError) throw outcome;
  const { task, created } = outcome!;
  if (created) deps.logger.info("task queued", { task_id: task.id, agent: task.agent, agent_id: task.agent_id });
  return toTaskView(await waitForOutcome(deps, task, req.wait ?? 0));
}

/** Up to 100 tasks in one call; each item succeeds or fails on its own, in request order. */
export async function submitBatch(deps: ExecutorDeps, principal: Principal, items: BatchTaskItem[]): Promise<SubmitBatchResult> {
  const outcomes = await accept(deps, principal, items);
  // Nothing of it fits under the caller's queue cap: the batch as a whole is refused, like a single submission.
  const [first] = outcomes;
  if (first instanceof MeridianError && first.code === "TOO_MANY_QUEUED_TASKS" && outcomes.every((o) => o instanceof MeridianError && o.code === first.code)) throw first;
  const accepted = outcomes.filter((o) => !(o instanceof MeridianError)).length;
  deps.logger.info("task batch queued", { tasks: items.length, accepted });
  return {
    items: outcomes.map((o): BatchItemResult =>
      o instanceof MeridianError ? { status: o.status, error: { code: o.code, message: o.message } } : { status: 202, task: toTaskView(o.task) },
    ),
  };
}

export async function getTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<TaskView> {
  requireScope(principal, "tasks:read");
  return toTaskView(await visibleTask(deps, principal, id));
}

export async function listTasks(deps: ExecutorDeps, principal: Principal, filter: ListTasksRequest): Promise<TaskList> {
  requireScope(principal, "tasks:read");
  const { items, total } = await store.listTasks(deps.db, filter, isAdmin(principal) ? undefined : principal.sub);
  return { items: items.map(toTaskView), total, limit: filter.limit, offset: filter.offset };
}

export async function taskLogs(deps: ExecutorDeps, principal: Principal, id: string): Promise<TaskLogs> {
  requireScope(principal, "tasks:read");
  await visibleTask(deps, principal, id);
  const lines = await store.listLogs(deps.db, id);
  return { task_id: id, items: lines.map((l) => ({ attempt: l.attempt, level: l.level, message: l.message, at: new Date(l.at).toISOString() })) };
}

function broadcastCancel(deps: ExecutorDeps, taskId: string) {
  const message: CancelRunningMessage = { task_id: taskId };
  deps.nc.publish(Subjects.executor.cancelRunning, JSON.stringify(message));
}

/** Queued: cancelled at once. Running: every executor hears it and the one running it aborts. One statement either way. */
export async function cancelTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<TaskView> {
  requireScope(principal, "tasks:write");
  const cancelled = await store.cancelTask(deps.db, id, isAdmin(principal) ? null : principal.sub, { by: principal.username, reason: "cancelled" });
  if (!cancelled) {
    const task = await visibleTask(deps, principal, id);
    throw new MeridianError("CONFLICT", `The task has already finished (${task.status})`);
  }
  if (cancelled.wasRunning) broadcastCancel(deps, id);
  await deps.relay.publishEvent(cancelled.event);
  deps.logger.info("task cancelled", { task_id: id, was_running: cancelled.wasRunning });
  return toTaskView(cancelled.task);
}

/** Cancels every queued and running task of one agent or owner, in batches, each with its event; running ones are aborted wherever they run. */
async function cancelAllActive(deps: ExecutorDeps, of: store.ActiveTasksOf, error: TaskError, data: Record<string, unknown>): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = await store.cancelActiveTasks(deps.db, of, error, data);
    for (const row of batch) if (row.was_running) broadcastCancel(deps, row.id);
    await Promise.all(batch.map((row) => deps.relay.publishEvent(row.event)));
    total += batch.length;
    if (batch.length === 0) return total;
  }
}

/** The agent is gone: its queued and running tasks are cancelled, saying why. */
export async function cancelTasksOfDeletedAgent(deps: ExecutorDeps, agentId: string): Promise<number> {
  const total = await cancelAllActive(deps, { agentId }, { code: "AGENT_UNAVAILABLE", message: "The agent was deleted" }, { reason: "agent_deleted" });
  if (total) deps.logger.info("tasks of a deleted agent cancelled", { agent_id: agentId, count: total });
  return total;
}

/** The owner's account was deleted (auth asks, as admin): their queued and running tasks, on any agent, are cancelled with `OWNER_DELETED`. */
export async function cancelTasksOfDeletedOwner(deps: ExecutorDeps, principal: Principal, ownerId: string): Promise<OwnedTasksCancelled> {
  if (!isAdmin(principal)) throw new MeridianError("FORBIDDEN", "Only services acting as admin clear an owner's tasks");
  const cancelled = await cancelAllActive(deps, { ownerId }, { code: OWNER_DELETED, message: "The owner's account was deleted" }, { reason: "owner_deleted" });
  if (cancelled) deps.logger.info("tasks of a deleted account cancelled", { owner_id: ownerId, count: cancelled });
  return { cancelled };
}

/** Admins put a finished (dead-lettered, failed, timed out, cancelled) task back on the queue, bound to the same agent id. */
export async function requeueTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<TaskView> {
  if (!isAdmin(principal)) throw new MeridianError("FORBIDDEN", "Only admins can re-queue tasks");
  const existing = await visibleTask(deps, principal, id);
  const agent = await deps.agents.byIdOrUndefined(existing.agent_id);
  if (!agent) throw new MeridianError("CONFLICT", "The task's agent was deleted; it cannot run again");
  const requeued = await store.requeueTask(deps.db, id, { requeued: true });
  if (!requeued) throw new MeridianError("CONFLICT", `A ${existing.status} task cannot be re-queued`);
  await ensureAgentConsumerOnce(deps.jsm, { agentId: agent.id, concurrency: agent.concurrency, ackWaitMs: deps.ackWaitMs });
  await Promise.all([deps.relay.publishEvent(requeued.event), deps.relay.publishQueueMessage(requeued.task)]);
  deps.onAgentQueued(agent);
  return toTaskView(requeued.task);
}
