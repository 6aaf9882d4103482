import { randomUUID } from "node:crypto";
import {
  isFinalStatus,
  MeridianError,
  Subjects,
  taskEventSubject,
  type CancelRunningMessage,
  type ListTasksRequest,
  type Principal,
  type SubmitTaskRequest,
  type TaskList,
  type TaskLogs,
  type TaskView,
} from "@meridian/contracts";
import { currentContext } from "@meridian/service-kit";
import { ensureAgentConsumerOnce, publishTaskMessage } from "../queue/task-queue.js";
import * as store from "../store/task.store.js";
import type { Task } from "../store/tables.js";
import type { ExecutorDeps } from "./deps.js";
import { requestFingerprint, toTaskView } from "./task-views.js";

const isAdmin = (p: Principal) => p.roles.includes("admin");

function requireScope(principal: Principal, scope: "tasks:read" | "tasks:write") {
  if (!principal.scopes.includes(scope)) throw new MeridianError("FORBIDDEN", `Missing scope: ${scope}`);
}

/** Another user's task does not exist, as far as the caller can tell. */
async function visibleTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<Task> {
  const task = await store.findTask(deps.db, id);
  if (!task || (task.owner_id !== principal.sub && !isAdmin(principal))) throw new MeridianError("NOT_FOUND", "Task not found");
  return task;
}

/** Publish the queue message of the task's next attempt; the outbox reconciler retries if this fails. */
export async function enqueue(deps: ExecutorDeps, task: Task): Promise<void> {
  const attempt = task.attempts + 1;
  try {
    await publishTaskMessage(deps.js, task.agent, { task_id: task.id, attempt, generation: task.generation }, task.correlation_id, deps.requestTimeoutMs);
    await store.markPublished(deps.db, task.id, task.generation, attempt);
  } catch (err) {
    deps.logger.warn("queue publish unconfirmed; the outbox will retry", { task_id: task.id, error: (err as Error).message });
  }
}

async function waitForOutcome(deps: ExecutorDeps, task: Task, seconds: number): Promise<Task> {
  if (seconds <= 0 || isFinalStatus(task.status)) return task;
  const sub = deps.nc.subscribe(taskEventSubject(task.owner_id, task.id));
  const deadline = Date.now() + seconds * 1000;
  try {
    let current = (await store.findTask(deps.db, task.id)) ?? task;
    const timer = setTimeout(() => sub.unsubscribe(), Math.max(0, deadline - Date.now()));
    try {
      if (isFinalStatus(current.status)) return current;
      for await (const msg of sub) {
        const type = msg.json<{ type: string }>().type;
        if (["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"].includes(type)) break;
      }
    } finally {
      clearTimeout(timer);
    }
    current = (await store.findTask(deps.db, task.id)) ?? current;
    return current;
  } finally {
    sub.unsubscribe();
  }
}

/**
 * Outbox order: the task row is stored `queued` first, then its queue message is published with
 * `Nats-Msg-Id`; a crash in between leaves a row the reconciler publishes later, never a lost task.
 */
export async function submitTask(deps: ExecutorDeps, principal: Principal, req: SubmitTaskRequest): Promise<TaskView> {
  requireScope(principal, "tasks:write");
  if (principal.roles.includes("readonly") && principal.roles.length === 1) throw new MeridianError("FORBIDDEN", "Read-only users cannot run tasks");
  const agent = await deps.agents.getFor(principal, req.agent);
  if (!agent.enabled) throw new MeridianError("AGENT_DISABLED", `Agent ${agent.name} is disabled`);
  const fingerprint = req.idempotency_key ? requestFingerprint(agent.name, req.input) : null;
  const { task, created } = await store.insertTask(deps.db, {
    id: randomUUID(),
    agent: agent.name,
    owner_id: principal.sub,
    input: req.input ?? null,
    max_attempts: agent.max_attempts,
    timeout_ms: agent.timeout_ms,
    backoff_ms: agent.backoff_ms,
    correlation_id: currentContext()?.correlationId ?? randomUUID(),
    idempotency_key: req.idempotency_key ?? null,
    request_fingerprint: fingerprint,
  });
  if (!created) {
    if (task.request_fingerprint !== fingerprint) {
      throw new MeridianError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
    }
    return toTaskView(await waitForOutcome(deps, task, req.wait ?? 0));
  }
  await ensureAgentConsumerOnce(deps.jsm, agent, deps.ackWaitMs);
  await deps.events.emit(task, "queued", { input_bytes: JSON.stringify(task.input ?? null).length });
  await enqueue(deps, task);
  deps.onAgentQueued(agent.name);
  deps.logger.info("task queued", { task_id: task.id, agent: agent.name });
  return toTaskView(await waitForOutcome(deps, task, req.wait ?? 0));
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

/** Queued: cancelled at once. Running: every executor hears it and the one running it aborts. */
export async function cancelTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<TaskView> {
  requireScope(principal, "tasks:write");
  await visibleTask(deps, principal, id);
  const cancelled = await store.cancelTask(deps.db, id);
  if (!cancelled) throw new MeridianError("CONFLICT", "The task has already finished");
  if (cancelled.wasRunning) {
    const message: CancelRunningMessage = { task_id: id };
    deps.nc.publish(Subjects.executor.cancelRunning, JSON.stringify(message));
  }
  await deps.events.emit(cancelled.task, "cancelled", { was_running: cancelled.wasRunning, by: principal.username });
  deps.logger.info("task cancelled", { task_id: id, was_running: cancelled.wasRunning });
  return toTaskView(cancelled.task);
}

/** Admins put a finished (dead-lettered, failed, timed out, cancelled) task back on the queue. */
export async function requeueTask(deps: ExecutorDeps, principal: Principal, id: string): Promise<TaskView> {
  if (!isAdmin(principal)) throw new MeridianError("FORBIDDEN", "Only admins can re-queue tasks");
  const existing = await visibleTask(deps, principal, id);
  const task = await store.requeueTask(deps.db, id);
  if (!task) throw new MeridianError("CONFLICT", `A ${existing.status} task cannot be re-queued`);
  await ensureAgentConsumerOnce(deps.jsm, await deps.agents.get(task.agent), deps.ackWaitMs);
  await deps.events.emit(task, "queued", { requeued: true, generation: task.generation });
  await enqueue(deps, task);
  deps.onAgentQueued(task.agent);
  return toTaskView(task);
}
