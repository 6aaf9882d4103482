import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { Headers, Streams, taskEventSubject, type TaskEvent } from "@meridian/contracts";
import type { JetStreamClient, Logger } from "@meridian/service-kit";
import { publishTaskMessage, type QueueMessageRef } from "../queue/task-queue.js";
import { confirmPublished, staleOutboxEvents, type ExecutorDb } from "../store/task.store.js";

const PUBLISH_ATTEMPTS = 3;
/** Confirmations wait this long (or for this many) before their one bookkeeping statement; nobody waits on it. */
const FLUSH_AFTER_MS = 50;
const FLUSH_AT = 500;
/** Room left under the server's max_payload for headers and framing. */
const PAYLOAD_HEADROOM = 4096;

export interface OutboxRelay {
  /** Publish a recorded event; once the stream confirms it, it leaves the outbox (in a batch). Never throws. */
  publishEvent(event: TaskEvent): Promise<void>;
  /** Publish the queue message of a task's next attempt; once confirmed it is marked (in a batch). Never throws; false if unconfirmed. */
  publishQueueMessage(task: QueueMessageRef, opts?: { msgIdSuffix?: string }): Promise<boolean>;
  /** Publish events left in the outbox (an executor crashed or lost NATS), each on its own. */
  republishStale(olderThanMs: number): Promise<number>;
  /** Write the pending confirmations now (tests, shutdown). */
  flush(): Promise<void>;
}

/**
 * The publishing half of the transactional outbox. Publishes are pipelined (many in flight, each awaited
 * for its own confirmation) and their bookkeeping is coalesced: one statement marks every confirmed
 * queue message and deletes every confirmed event of the last few milliseconds. A lost bookkeeping write
 * only makes the sweeper publish again, which the stream's dedupe window (same `Nats-Msg-Id`) and the
 * readers' `seq` absorb.
 */
export function createOutboxRelay(deps: { db: ExecutorDb; nc: NatsConnection; js: JetStreamClient; logger: Logger; timeoutMs: number }): OutboxRelay {
  let messages: { id: string; generation: number; attempt: number }[] = [];
  let events: { task_id: string; seq: number }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (messages.length === 0 && events.length === 0) return flushing;
    const batch = { messages, events };
    messages = [];
    events = [];
    flushing = flushing.then(() =>
      confirmPublished(deps.db, batch.messages, batch.events).catch((err: unknown) => {
        deps.logger.warn("outbox bookkeeping not written; the sweeper will publish again", { error: (err as Error).message, count: batch.events.length + batch.messages.length });
      }),
    );
    return flushing;
  };
  const schedule = () => {
    if (messages.length + events.length >= FLUSH_AT) void flush();
    else timer ??= setTimeout(() => void flush(), FLUSH_AFTER_MS);
  };

  const maxPayload = () => (deps.nc.info?.max_payload ?? 1024 * 1024) - PAYLOAD_HEADROOM;

  /** An event too large for the server goes out without its data, saying so, rather than never. */
  const encode = (event: TaskEvent): string => {
    const payload = JSON.stringify(event);
    if (Buffer.byteLength(payload) <= maxPayload()) return payload;
    deps.logger.warn("task event too large; published without its data", { task_id: event.task_id, seq: event.seq, bytes: payload.length });
    return JSON.stringify({ ...event, data: { truncated: true, bytes: Buffer.byteLength(payload) } });
  };

  const send = async (event: TaskEvent): Promise<void> => {
    const h = natsHeaders();
    h.set(Headers.correlationId, event.correlation_id);
    const payload = encode(event);
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.js.publish(taskEventSubject(event.owner_id, event.task_id), payload, {
          msgID: `${event.task_id}:${event.seq}`,
          headers: h,
          timeout: deps.timeoutMs,
          expect: { streamName: Streams.taskEvents.name },
        });
        break;
      } catch (err) {
        if (attempt >= PUBLISH_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    events.push({ task_id: event.task_id, seq: event.seq });
    schedule();
  };

  return {
    async publishEvent(event) {
      try {
        await send(event);
      } catch (err) {
        // The task's state in PostgreSQL is the truth; the event stays in the outbox for the sweeper.
        deps.logger.warn("task event not published", { task_id: event.task_id, type: event.type, seq: event.seq, error: (err as Error).message, correlation_id: event.correlation_id });
      }
    },
    async publishQueueMessage(task, opts = {}) {
      const attempt = task.attempts + 1;
      try {
        await publishTaskMessage(deps.js, task, deps.timeoutMs, opts.msgIdSuffix);
        messages.push({ id: task.id, generation: task.generation, attempt });
        schedule();
        return true;
      } catch (err) {
        deps.logger.warn("queue publish unconfirmed; the sweeper will retry", { task_id: task.id, error: (err as Error).message, correlation_id: task.correlation_id });
        return false;
      }
    },
    async republishStale(olderThanMs) {
      const stale = await staleOutboxEvents(deps.db, olderThanMs);
      let published = 0;
      let failuresInARow = 0;
      // Each event on its own: one that fails never holds back the others. Several failures in a row
      // mean the server is away, and the next sweep tries again.
      for (const event of stale) {
        try {
          await send(event);
          published++;
          failuresInARow = 0;
        } catch (err) {
          deps.logger.warn("stale task event not published", { task_id: event.task_id, seq: event.seq, error: (err as Error).message });
          if (++failuresInARow >= 3) break;
        }
      }
      await flush();
      return published;
    },
    flush,
  };
}
