import { nanos } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { Streams, type TaskEvent } from "@meridian/contracts";
import type { JetStreamClient, JetStreamManager, Logger } from "@meridian/service-kit";
import type { Delivery } from "./delivery.js";

/**
 * This replica's durable consumer of every task event. Durable, so a restart resumes after the
 * last event it acknowledged instead of dropping what was in flight; each replica has its own
 * because each serves its own sockets. Unused replica consumers expire after an hour.
 */
export class LiveRelay {
  private running = true;
  private healthy = false;
  private lastError = "not started";
  private stopCurrent?: () => void;

  constructor(
    private readonly deps: { js: JetStreamClient; jsm: JetStreamManager; logger: Logger; replicaId: string; delivery: Delivery },
  ) {}

  get consumerName(): string {
    return `realtime-${this.deps.replicaId}`;
  }

  start(): void {
    void this.loop();
  }

  health(): void {
    if (!this.healthy) throw new Error(`relay not consuming: ${this.lastError}`);
  }

  private async ensureConsumer(): Promise<void> {
    try {
      await this.deps.jsm.consumers.info(Streams.taskEvents.name, this.consumerName);
    } catch {
      await this.deps.jsm.consumers.add(Streams.taskEvents.name, {
        durable_name: this.consumerName,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: nanos(30_000),
        max_ack_pending: 10_000,
        inactive_threshold: nanos(3_600_000),
        description: `realtime relay of replica ${this.deps.replicaId}`,
      });
    }
  }

  private async loop(): Promise<void> {
    let backoff = 250;
    while (this.running) {
      try {
        await this.ensureConsumer();
        const consumer = await this.deps.js.consumers.get(Streams.taskEvents.name, this.consumerName);
        const messages = await consumer.consume({ max_messages: 500 });
        this.stopCurrent = () => void messages.close();
        this.healthy = true;
        backoff = 250;
        for await (const msg of messages) {
          try {
            this.deps.delivery.relay({ ...msg.json<TaskEvent>(), stream_seq: msg.seq });
          } catch (err) {
            this.deps.logger.warn("event not relayed", { error: (err as Error).message, stream_seq: msg.seq });
          }
          msg.ack();
        }
      } catch (err) {
        this.lastError = (err as Error).message;
        if (this.running) this.deps.logger.warn("relay consumer failed; restarting", { error: this.lastError });
      }
      this.healthy = false;
      if (this.running) await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  stop(): void {
    this.running = false;
    this.stopCurrent?.();
  }
}
