import { FinalTaskStatuses, Streams, type TaskEvent, type TaskEventType } from "@meridian/contracts";
import { cachedReader, Counter, Gauge, Histogram, type JetStreamManager, type ServiceMetrics } from "@meridian/service-kit";
import type { OutboxRelay } from "./events/outbox-relay.js";
import { agentQueues } from "./queue/task-queue.js";

/** Consumer info is read from the server at most this often, however many scrapes come. */
const QUEUE_INFO_TTL_MS = 5000;
/** A task started here but finished elsewhere leaves its start time behind: the map is bounded. */
const MAX_TRACKED_STARTS = 10_000;
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

const isFinal = (type: TaskEventType) => (FinalTaskStatuses as readonly string[]).includes(type);

/**
 * The executor's task metrics, labelled by agent id (bounded by the registry), never by task id. Outcomes
 * are counted where the final transition is made: every one publishes its event through this replica's relay.
 */
export class ExecutorMetrics {
  private readonly tasks: Counter<"agent_id" | "outcome">;
  private readonly duration: Histogram<"agent_id" | "outcome">;
  private readonly redeliveries: Counter<"agent_id">;
  private readonly deadLetters: Counter<"agent_id">;
  private readonly startedAt = new Map<string, number>();

  constructor(metrics: ServiceMetrics, jsm: JetStreamManager) {
    const registers = [metrics.registry];
    this.tasks = new Counter({ name: "meridian_executor_tasks_total", help: "Tasks that reached a final status, by agent and outcome", labelNames: ["agent_id", "outcome"], registers });
    this.duration = new Histogram({
      name: "meridian_executor_task_duration_seconds",
      help: "Run time of a task's final attempt (started to final event), by agent and outcome",
      labelNames: ["agent_id", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.redeliveries = new Counter({ name: "meridian_executor_redeliveries_total", help: "Queue messages delivered more than once, by agent", labelNames: ["agent_id"], registers });
    this.deadLetters = new Counter({ name: "meridian_executor_dead_letters_total", help: "Tasks dead-lettered (out of attempts), by agent", labelNames: ["agent_id"], registers });

    const queues = cachedReader(async () => {
      const [consumers, stream] = await Promise.all([agentQueues(jsm), jsm.streams.info(Streams.tasks.name)]);
      return { consumers, messages: stream.state.messages };
    }, QUEUE_INFO_TTL_MS);
    new Gauge({
      name: "meridian_executor_queue_messages",
      help: "Messages in the task queue stream (the backlog of every agent)",
      registers,
      async collect() {
        const q = await queues();
        if (q) this.set(q.messages);
      },
    });
    const perAgent = (name: string, help: string, pick: (c: { pending: number; ackPending: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["agent_id"],
        registers,
        async collect() {
          const q = await queues();
          if (!q) return;
          this.reset();
          for (const c of q.consumers) this.set({ agent_id: c.agentId }, pick(c));
        },
      });
    perAgent("meridian_executor_consumer_pending", "Messages waiting for delivery on an agent's queue consumer", (c) => c.pending);
    perAgent("meridian_executor_consumer_ack_pending", "Messages delivered and not yet acknowledged on an agent's queue consumer", (c) => c.ackPending);
  }

  /** The relay every transition's event goes through, counting final outcomes on the way. */
  observe(relay: OutboxRelay): OutboxRelay {
    return { ...relay, publishEvent: (event) => (this.onEvent(event), relay.publishEvent(event)) };
  }

  redelivered(agentId: string): void {
    this.redeliveries.inc({ agent_id: agentId });
  }

  private onEvent(event: TaskEvent): void {
    if (event.type === "started") {
      if (this.startedAt.size >= MAX_TRACKED_STARTS) this.startedAt.delete(this.startedAt.keys().next().value!);
      this.startedAt.set(event.task_id, Date.parse(event.at));
      return;
    }
    if (!isFinal(event.type)) return;
    const labels = { agent_id: event.agent_id, outcome: event.type };
    this.tasks.inc(labels);
    if (event.type === "dead_lettered") this.deadLetters.inc({ agent_id: event.agent_id });
    const started = this.startedAt.get(event.task_id);
    if (started !== undefined) {
      this.startedAt.delete(event.task_id);
      const seconds = (Date.parse(event.at) - started) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) this.duration.observe(labels, seconds);
    }
  }
}
