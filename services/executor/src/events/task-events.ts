import { headers as natsHeaders } from "@nats-io/transport-node";
import { Headers, Streams, taskEventSubject, type TaskEvent, type TaskEventType } from "@meridian/contracts";
import type { JetStreamClient, Logger } from "@meridian/service-kit";
import { nextEventSeq, type ExecutorDb } from "../store/task.store.js";
import type { Task } from "../store/tables.js";

export interface TaskEventPublisher {
  emit(task: Task, type: TaskEventType, data?: Record<string, unknown>): Promise<void>;
}

/**
 * Each event takes the task's next sequence number from PostgreSQL, so a task's events are numbered
 * 1, 2, 3… with no gap; the message id `<task>:<seq>` makes a retried publish land once.
 */
export function createTaskEventPublisher(deps: { db: ExecutorDb; js: JetStreamClient; logger: Logger; timeoutMs: number }): TaskEventPublisher {
  // One chain per task: events of a task reach the stream in the order of their sequence numbers.
  const chains = new Map<string, Promise<void>>();
  const publish = async (task: Task, type: TaskEventType, data: Record<string, unknown>) => {
      try {
        const seq = await nextEventSeq(deps.db, task.id);
        const event: TaskEvent = {
          task_id: task.id,
          seq,
          type,
          agent: task.agent,
          owner_id: task.owner_id,
          attempt: task.attempts,
          data,
          at: new Date().toISOString(),
          correlation_id: task.correlation_id,
        };
        const h = natsHeaders();
        h.set(Headers.correlationId, task.correlation_id);
        await deps.js.publish(taskEventSubject(task.owner_id, task.id), JSON.stringify(event), {
          msgID: `${task.id}:${seq}`,
          headers: h,
          timeout: deps.timeoutMs,
          expect: { streamName: Streams.taskEvents.name },
        });
        deps.logger.debug("task event", { task_id: task.id, type, seq, correlation_id: task.correlation_id });
      } catch (err) {
        // Events are history and notifications; the task's state in PostgreSQL is the truth.
        deps.logger.warn("task event not published", { task_id: task.id, type, error: (err as Error).message, correlation_id: task.correlation_id });
      }
  };
  return {
    emit(task, type, data = {}) {
      const next = (chains.get(task.id) ?? Promise.resolve()).then(() => publish(task, type, data));
      chains.set(task.id, next);
      void next.finally(() => chains.get(task.id) === next && chains.delete(task.id));
      return next;
    },
  };
}
