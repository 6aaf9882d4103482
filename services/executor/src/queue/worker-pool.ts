import { Streams, taskConsumerName } from "@meridian/contracts";
import type { JetStreamClient, Logger } from "@meridian/service-kit";
import type { AttemptRunner } from "./attempt.js";

const FETCH_EXPIRES_MS = 1000;

/** One agent's puller: fetches as many messages as it has free slots, and runs each concurrently. */
class AgentLoop {
  slots: number;
  private inFlight = 0;
  private stopped = false;
  private wake?: () => void;
  readonly done: Promise<void>;

  constructor(
    private readonly js: JetStreamClient,
    private readonly attempts: AttemptRunner,
    private readonly logger: Logger,
    private readonly agentId: string,
    slots: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.slots = slots;
    this.done = this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const consumer = await this.js.consumers.get(Streams.tasks.name, taskConsumerName(this.agentId));
        while (!this.stopped) {
          const free = this.slots - this.inFlight;
          if (free <= 0) {
            await this.slotFreed();
            continue;
          }
          const batch = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
          for await (const msg of batch) {
            if (this.stopped) {
              msg.nak();
              continue;
            }
            this.inFlight++;
            void this.attempts.handle(msg, this.agentId).finally(() => {
              this.inFlight--;
              this.wake?.();
            });
          }
        }
      } catch (err) {
        if (this.stopped) break;
        this.onError(err as Error);
        this.logger.warn("queue puller failed; restarting", { agent_id: this.agentId, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

/**
 * Pulls tasks from the per-agent durable consumers. Each agent has its own puller, so a flooded or slow
 * agent only ever fills its own slots; the server's max_ack_pending holds the agent's concurrency across
 * replicas, and `maxConcurrency` bounds what this replica takes of each.
 */
export class WorkerPool {
  private readonly loops = new Map<string, AgentLoop>();
  lastError?: string;

  constructor(
    private readonly js: JetStreamClient,
    private readonly attempts: AttemptRunner,
    private readonly logger: Logger,
    private readonly maxConcurrency: number,
  ) {}

  has(agentId: string): boolean {
    return this.loops.has(agentId);
  }

  /** Pull this agent's queue with up to `concurrency` tasks at a time (started, or resized). */
  ensure(agentId: string, concurrency: number): void {
    const slots = Math.max(1, Math.min(concurrency, this.maxConcurrency));
    const loop = this.loops.get(agentId);
    if (loop) {
      loop.slots = slots;
      return;
    }
    this.loops.set(agentId, new AgentLoop(this.js, this.attempts, this.logger, agentId, slots, (err) => (this.lastError = err.message)));
  }

  /** Stop pulling agents that are not in `agentIds` (deleted, or no longer served here). */
  retain(agentIds: Set<string>): void {
    for (const [id, loop] of this.loops) {
      if (agentIds.has(id)) continue;
      loop.stop();
      this.loops.delete(id);
    }
  }

  async stop(): Promise<void> {
    const loops = [...this.loops.values()];
    this.loops.clear();
    for (const loop of loops) loop.stop();
    await Promise.all(loops.map((l) => l.done));
  }
}
