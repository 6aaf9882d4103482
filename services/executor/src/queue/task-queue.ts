import { headers as natsHeaders, nanos } from "@nats-io/transport-node";
import { Headers, Streams, TASK_CONSUMER_PREFIX, taskConsumerName, taskQueueSubject, type TaskQueueMessage } from "@meridian/contracts";
import {
  AckPolicy,
  ensureStream,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
} from "@meridian/service-kit";

const DAY_MS = 86_400_000;

/**
 * Work-queue retention: a message leaves the stream when acked, so the stream is exactly the backlog.
 * No max_age: a backlog is never dropped by age (the tasks table bounds it, and the sweeper re-publishes
 * a queued task whose message is gone).
 */
export const taskStreamConfig = {
  name: Streams.tasks.name,
  subjects: [...Streams.tasks.subjects],
  retention: RetentionPolicy.Workqueue,
  storage: StorageType.File,
  max_age: 0,
  // The dedupe window covers a publisher retrying a publish whose acknowledgement was lost.
  duplicate_window: nanos(2 * 60_000),
  description: "Meridian task queue: one subject per agent id",
};

export const taskEventStreamConfig = {
  name: Streams.taskEvents.name,
  subjects: [...Streams.taskEvents.subjects],
  storage: StorageType.File,
  max_age: nanos(7 * DAY_MS),
  duplicate_window: nanos(2 * 60_000),
  description: "Meridian task events: meridian.events.task.<owner>.<task>",
};

export async function ensureTaskStreams(jsm: JetStreamManager, logger: Logger): Promise<void> {
  await ensureStream(jsm, taskStreamConfig, logger);
  await ensureStream(jsm, taskEventStreamConfig, logger);
}

/** What publishing a task's next attempt needs to know of it. */
export interface QueueMessageRef {
  id: string;
  agent_id: string;
  generation: number;
  /** Attempts made so far; the message is for attempt `attempts + 1`. */
  attempts: number;
  correlation_id: string;
}

/** Every publish of a task has its own id (generation and attempt), so the dedupe window never swallows a retry. */
export const queueMsgId = (m: TaskQueueMessage) => `${m.task_id}:${m.generation}:${m.attempt}`;

export async function publishTaskMessage(js: JetStreamClient, task: QueueMessageRef, timeoutMs: number, msgIdSuffix = ""): Promise<void> {
  const message: TaskQueueMessage = { task_id: task.id, attempt: task.attempts + 1, generation: task.generation };
  const h = natsHeaders();
  h.set(Headers.correlationId, task.correlation_id);
  // A lost acknowledgement is retried with the same id: the stream keeps one copy.
  let lastError: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      await js.publish(taskQueueSubject(task.agent_id), JSON.stringify(message), {
        msgID: queueMsgId(message) + msgIdSuffix,
        headers: h,
        timeout: timeoutMs,
        expect: { streamName: Streams.tasks.name },
      });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 100 * (i + 1)));
    }
  }
  throw lastError;
}

export interface ConsumerSettings {
  agentId: string;
  concurrency: number;
  ackWaitMs: number;
}

/**
 * One durable pull consumer per agent id, shared by every executor replica. `max_ack_pending` is the
 * agent's concurrency: the server never hands out more unacknowledged tasks of this agent, whichever
 * replica asks. Deliveries are unbounded: the executor decides when a task is out of attempts, and a
 * long database outage must not use up the server's redeliveries.
 */
export async function ensureAgentConsumer(jsm: JetStreamManager, s: ConsumerSettings): Promise<void> {
  const durable = taskConsumerName(s.agentId);
  const config = {
    durable_name: durable,
    filter_subject: taskQueueSubject(s.agentId),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(s.ackWaitMs),
    max_ack_pending: s.concurrency,
    max_deliver: -1,
    description: `tasks of agent ${s.agentId}`,
  };
  try {
    const info = await jsm.consumers.info(Streams.tasks.name, durable);
    if (info.config.max_ack_pending !== config.max_ack_pending || info.config.ack_wait !== config.ack_wait || info.config.max_deliver !== -1) {
      await jsm.consumers.update(Streams.tasks.name, durable, { max_ack_pending: config.max_ack_pending, ack_wait: config.ack_wait, max_deliver: -1 });
    }
  } catch {
    await jsm.consumers.add(Streams.tasks.name, config);
  }
}

const ensured = new WeakMap<JetStreamManager, Map<string, string>>();

/**
 * The submit path's form: ask the server once per agent and settings, not on every submission. The
 * sweeper checks every active agent's consumer every few seconds, which repairs one removed behind our back.
 */
export async function ensureAgentConsumerOnce(jsm: JetStreamManager, s: ConsumerSettings): Promise<void> {
  const known = ensured.get(jsm) ?? new Map<string, string>();
  ensured.set(jsm, known);
  const settings = `${s.concurrency}:${s.ackWaitMs}`;
  if (known.get(s.agentId) === settings) return;
  await ensureAgentConsumer(jsm, s);
  known.set(s.agentId, settings);
}

export function forgetAgentConsumer(jsm: JetStreamManager, agentId: string): void {
  ensured.get(jsm)?.delete(agentId);
}

export interface AgentQueueState {
  agentId: string;
  concurrency: number;
  /** Messages waiting, delivered and unacknowledged: zero of both means no live message exists. */
  pending: number;
  ackPending: number;
}

/** Every agent queue consumer on the server, with its backlog. */
export async function agentQueues(jsm: JetStreamManager): Promise<AgentQueueState[]> {
  const out: AgentQueueState[] = [];
  for await (const info of jsm.consumers.list(Streams.tasks.name)) {
    if (!info.name.startsWith(TASK_CONSUMER_PREFIX)) continue;
    out.push({
      agentId: info.name.slice(TASK_CONSUMER_PREFIX.length),
      concurrency: info.config.max_ack_pending ?? 1,
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
    });
  }
  return out;
}
