import { DeliverPolicy } from "@nats-io/jetstream";
import { Streams, type TaskEvent } from "@meridian/contracts";
import type { JetStreamClient, Logger } from "@meridian/service-kit";
import type { TaskSequencer } from "./sequencer.js";

/**
 * This replica's feed of every task event: an ordered consumer (no acks, in stream order, recreated by the
 * client from the last stream sequence it saw when a message goes missing). When the feed itself fails it
 * restarts after the last stream sequence handled, so nothing in between is skipped. A new process starts
 * with new events only: its sockets are new too, and get what they missed with `subscribe { since }`.
 */
export class LiveRelay {
  private running = true;
  private healthy = false;
  private lastError = "not started";
  private lastStreamSeq = 0;
  private stopCurrent?: () => void;

  constructor(private readonly deps: { js: JetStreamClient; logger: Logger; sequencer: TaskSequencer }) {}

  /** Resolves once the first consumer is in place (or its first attempt failed; it keeps retrying). */
  start(): Promise<void> {
    return new Promise((resolve) => void this.loop(resolve));
  }

  health(): void {
    if (!this.healthy) throw new Error(`relay not consuming: ${this.lastError}`);
  }

  private async loop(started: () => void): Promise<void> {
    let backoff = 250;
    while (this.running) {
      try {
        const consumer = await this.deps.js.consumers.get(
          Streams.taskEvents.name,
          this.lastStreamSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastStreamSeq + 1 } : { deliver_policy: DeliverPolicy.New },
        );
        const messages = await consumer.consume({ max_messages: 1000 });
        this.stopCurrent = () => void messages.close();
        this.healthy = true;
        started();
        backoff = 250;
        for await (const msg of messages) {
          this.lastStreamSeq = msg.seq;
          try {
            this.deps.sequencer.accept({ ...msg.json<TaskEvent>(), stream_seq: msg.seq });
          } catch (err) {
            this.deps.logger.warn("event not relayed", { error: (err as Error).message, stream_seq: msg.seq });
          }
        }
      } catch (err) {
        this.lastError = (err as Error).message;
        started();
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
