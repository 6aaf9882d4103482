import { headers as natsHeaders } from "@nats-io/transport-node";
import { Headers, Streams, taskEventSubject, type TaskEvent, type TaskEventType } from "@meridian/contracts";
import type { JetStreamClient, Logger } from "@meridian/service-kit";
import { deleteOutboxEvent, recordEvent, staleOutboxEvents, type ExecutorDb } from "../store/task.store.js";
import type { Task } from "../store/tables.js";

const PUBLISH_ATTEMPTS = 3;

export interface TaskEventPublisher {
  /** Number the event, keep it in the outbox, publish it (in order per task). Never throws. */
  emit(task: Task, type: TaskEventType, data?: Record<string, unknown>): Promise<void>;
  /** Number and keep the event inside the caller's transaction (with the state change it reports); publish() it after commit. */
  record(db: ExecutorDb, task: Task, type: TaskEventType, data?: Record<string, unknown>): Promise<TaskEvent>;
  publish(event: TaskEvent): Promise<void>;
  /** Publish events their executor left in the outbox (it crashed, or NATS was away); the reconciler calls this. */
  republishStale(olderThanMs: number): Promise<number>;
}

/**
 * Each event takes the task's next sequence number from PostgreSQL in the same statement that keeps it in an
 * outbox, so a task's events are numbered 1, 2, 3… with no gap even when an executor dies before publishing;
 * the message id `<task>:<seq>` makes every retried or repeated publish land once.
 */
export function createTaskEventPublisher(deps: { db: ExecutorDb; js: JetStreamClient; logger: Logger; timeoutMs: number }): TaskEventPublisher {
  const build = (task: Task, type: TaskEventType, data: Record<string, unknown>): Omit<TaskEvent, "seq"> => ({
    task_id: task.id,
    type,
    agent: task.agent,
    owner_id: task.owner_id,
    attempt: task.attempts,
    data,
    at: new Date().toISOString(),
    correlation_id: task.correlation_id,
  });

  /** Publish with the same id until the stream confirms (a lost acknowledgement is retried), then leave the outbox. */
  const send = async (event: TaskEvent) => {
    const h = natsHeaders();
    h.set(Headers.correlationId, event.correlation_id);
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.js.publish(taskEventSubject(event.owner_id, event.task_id), JSON.stringify(event), {
          msgID: `${event.task_id}:${event.seq}`,
          headers: h,
          timeout: deps.timeoutMs,
          expect: { streamName: Streams.taskEvents.name },
        });
        break;
      } catch (err) {
        if (attempt >= PUBLISH_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
    await deleteOutboxEvent(deps.db, event.task_id, event.seq);
    deps.logger.debug("task event", { task_id: event.task_id, type: event.type, seq: event.seq, correlation_id: event.correlation_id });
  };

  // One chain per task: events of a task reach the stream in the order of their sequence numbers.
  const chains = new Map<string, Promise<void>>();
  const inOrder = (taskId: string, job: () => Promise<void>, what: { type: TaskEventType; correlation_id: string }) => {
    const next = (chains.get(taskId) ?? Promise.resolve()).then(job).catch((err: unknown) => {
      // Events are history and notifications; the task's state in PostgreSQL is the truth. A recorded event
      // stays in the outbox for the reconciler.
      deps.logger.warn("task event not published", { task_id: taskId, type: what.type, error: (err as Error).message, correlation_id: what.correlation_id });
    });
    chains.set(taskId, next);
    void next.finally(() => chains.get(taskId) === next && chains.delete(taskId));
    return next;
  };

  return {
    emit(task, type, data = {}) {
      return inOrder(task.id, async () => send(await recordEvent(deps.db, build(task, type, data))), { type, correlation_id: task.correlation_id });
    },
    record(db, task, type, data = {}) {
      return recordEvent(db, build(task, type, data));
    },
    publish(event) {
      return inOrder(event.task_id, () => send(event), event);
    },
    async republishStale(olderThanMs) {
      const stale = await staleOutboxEvents(deps.db, olderThanMs);
      for (const event of stale) await send(event);
      return stale.length;
    },
  };
}
