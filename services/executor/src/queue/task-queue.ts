import { headers as natsHeaders, nanos } from "@nats-io/transport-node";
import {
  Headers,
  Streams,
  TASK_CONSUMER_PREFIX,
  taskConsumerName,
  taskQueueSubject,
  type AgentView,
  type TaskQueueMessage,
} from "@meridian/contracts";
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

/** Work-queue retention: a message leaves the stream when acked, so the stream is exactly the backlog. */
export const taskStreamConfig = {
  name: Streams.tasks.name,
  subjects: [...Streams.tasks.subjects],
  retention: RetentionPolicy.Workqueue,
  storage: StorageType.File,
  max_age: nanos(7 * DAY_MS),
  // The dedupe window covers a publisher retrying a publish whose acknowledgement was lost.
  duplicate_window: nanos(2 * 60_000),
  description: "Meridian task queue: one subject per agent",
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

/** Every publish of a task has its own id (generation and attempt), so the dedupe window never swallows a retry. */
export const queueMsgId = (m: TaskQueueMessage) => `${m.task_id}:${m.generation}:${m.attempt}`;

export async function publishTaskMessage(
  js: JetStreamClient,
  agent: string,
  message: TaskQueueMessage,
  correlationId: string,
  timeoutMs: number,
): Promise<void> {
  const h = natsHeaders();
  h.set(Headers.correlationId, correlationId);
  // A lost acknowledgement is retried with the same id: the stream keeps one copy.
  let lastError: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      await js.publish(taskQueueSubject(agent), JSON.stringify(message), {
        msgID: queueMsgId(message),
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

/**
 * One durable pull consumer per agent, shared by every executor replica. `max_ack_pending` is the
 * agent's concurrency: the server never hands out more unacknowledged tasks of this agent, whichever
 * replica asks. Redelivery is bounded; the executor dead-letters before the server gives up.
 */
export async function ensureAgentConsumer(jsm: JetStreamManager, agent: AgentView, ackWaitMs: number): Promise<void> {
  const durable = taskConsumerName(agent.name);
  const config = {
    durable_name: durable,
    filter_subject: taskQueueSubject(agent.name),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitMs),
    max_ack_pending: agent.concurrency,
    max_deliver: Math.max(10, agent.max_attempts * 5),
    description: `tasks of agent ${agent.name}`,
  };
  try {
    const info = await jsm.consumers.info(Streams.tasks.name, durable);
    if (info.config.max_ack_pending !== config.max_ack_pending || info.config.ack_wait !== config.ack_wait) {
      await jsm.consumers.update(Streams.tasks.name, durable, {
        max_ack_pending: config.max_ack_pending,
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
      });
    }
  } catch {
    await jsm.consumers.add(Streams.tasks.name, config);
  }
}

const ensured = new WeakMap<JetStreamManager, Map<string, string>>();

/**
 * The submit path's form: ask the server once per agent and settings, not on every submission. The
 * runner's reconcile calls ensureAgentConsumer itself every few seconds, which repairs a consumer
 * removed behind our back.
 */
export async function ensureAgentConsumerOnce(jsm: JetStreamManager, agent: AgentView, ackWaitMs: number): Promise<void> {
  const known = ensured.get(jsm) ?? new Map<string, string>();
  ensured.set(jsm, known);
  const settings = `${agent.concurrency}:${agent.max_attempts}:${ackWaitMs}`;
  if (known.get(agent.name) === settings) return;
  await ensureAgentConsumer(jsm, agent, ackWaitMs);
  known.set(agent.name, settings);
}

/** Agent names that have a queue consumer (so tasks may be waiting), from the server. */
export async function agentsWithConsumers(jsm: JetStreamManager): Promise<string[]> {
  const names: string[] = [];
  for await (const info of jsm.consumers.list(Streams.tasks.name)) {
    const name = info.name.startsWith(TASK_CONSUMER_PREFIX) ? info.name.slice(TASK_CONSUMER_PREFIX.length) : undefined;
    if (name) names.push(name);
  }
  return names;
}
