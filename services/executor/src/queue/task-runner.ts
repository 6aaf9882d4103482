import { CancelRunningMessageSchema, Streams, Subjects, validate, type AgentEvent, type AgentView } from "@meridian/contracts";
import type { Subscription } from "@nats-io/transport-node";
import type { ExecutorDeps } from "../domain/deps.js";
import { cancelTasksOfDeletedAgent } from "../domain/tasks.js";
import type { Runtime } from "../runtimes/runtime.js";
import { AttemptRunner } from "./attempt.js";
import { Sweeper } from "./sweeper.js";
import { forgetAgentConsumer } from "./task-queue.js";
import { WorkerPool } from "./worker-pool.js";

export interface RunnerOptions {
  executorId: string;
  maxConcurrency: number;
  reconcileIntervalMs: number;
  graceMs: number;
}

/**
 * The consuming half of the executor: pullers per agent (worker-pool), one attempt's life (attempt), and
 * the sweeper that repairs what crashes leave behind, plus the two broadcasts every replica hears: cancel
 * a running task, and agent changes.
 */
export class TaskRunner {
  private readonly attempts: AttemptRunner;
  private readonly pool: WorkerPool;
  private readonly sweeper: Sweeper;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private subscriptions: Subscription[] = [];
  private sweepError?: string = "not swept yet";

  constructor(
    private readonly deps: ExecutorDeps,
    runtimes: Partial<Record<string, Runtime>>,
    private readonly options: RunnerOptions,
  ) {
    this.attempts = new AttemptRunner(deps, runtimes, options.executorId);
    this.pool = new WorkerPool(deps.js, this.attempts, deps.logger, options.maxConcurrency);
    this.sweeper = new Sweeper(deps, this.pool, this.attempts);
  }

  /** Never waits for a peer: the first sweep runs in the background and readiness reports until it succeeds. */
  start(): void {
    const { deps } = this;
    this.subscriptions.push(
      deps.nc.subscribe(Subjects.executor.cancelRunning, {
        callback: (_err, msg) => {
          // A malformed broadcast must not throw here: that would end the connection's reader loop.
          try {
            const { value, problems } = validate(CancelRunningMessageSchema, msg.json());
            if (problems) deps.logger.warn("malformed cancel broadcast ignored", { problems });
            else this.attempts.abort(value.task_id, "cancelled");
          } catch (err) {
            deps.logger.warn("malformed cancel broadcast ignored", { error: (err as Error).message });
          }
        },
      }),
      // Registry changes reach plain subscribers too: drop what we cached; a deleted agent's tasks are cancelled.
      deps.nc.subscribe(Streams.agentEvents.subjects[0], {
        callback: (_err, msg) => {
          try {
            const event = msg.json<AgentEvent>();
            if (!event?.agent?.id) return;
            deps.agents.forget(event.agent);
            if (event.type === "agent.deleted") {
              forgetAgentConsumer(deps.jsm, event.agent.id);
              void cancelTasksOfDeletedAgent(deps, event.agent.id).catch((err: unknown) =>
                deps.logger.warn("tasks of a deleted agent not cancelled yet; the sweeper will", { agent_id: event.agent.id, error: (err as Error).message }),
              );
            }
          } catch (err) {
            deps.logger.warn("malformed agent event ignored", { error: (err as Error).message });
          }
        },
      }),
    );
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.sweeper
          .sweep()
          .then(() => (this.sweepError = undefined))
          .catch((err: unknown) => {
            this.sweepError = (err as Error).message;
            deps.logger.warn("sweep failed; retrying", { error: this.sweepError });
          })
          .finally(() => !this.stopping && tick(this.options.reconcileIntervalMs));
      }, delay);
    };
    tick(0);
  }

  /** Readiness: the last sweep reached the database, the registry and the server. */
  health(): void {
    if (this.stopping) throw new Error("stopping");
    if (this.sweepError) throw new Error(`not consuming: ${this.sweepError}`);
  }

  /** Start pulling an agent's queue now (called after a local submit), if this replica runs its runtime. */
  ensureAgent(agent: AgentView): void {
    if (!this.stopping && this.attempts.runtimeFor(agent)) this.pool.ensure(agent.id, agent.concurrency);
  }

  /** Stop pulling; let running tasks finish within the grace period; give the rest back at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    for (const s of this.subscriptions) s.unsubscribe();
    const pulling = this.pool.stop();
    const grace = new Promise((r) => setTimeout(r, this.options.graceMs).unref());
    await Promise.race([this.attempts.allDone(), grace]);
    this.attempts.abortAll("shutdown");
    await this.attempts.allDone();
    await pulling;
    await this.deps.relay.flush();
  }
}
