import {
  MeridianError,
  Streams,
  Subjects,
  taskConsumerName,
  TaskQueueMessageSchema,
  validate,
  type AgentView,
  type CancelRunningMessage,
  type TaskError,
  type TaskEventType,
  type TaskQueueMessage,
} from "@meridian/contracts";
import { runWithContext, type JsMsg, type Logger } from "@meridian/service-kit";
import type { Subscription } from "@nats-io/transport-node";
import type { ExecutorDeps } from "../domain/deps.js";
import { enqueue } from "../domain/tasks.js";
import { RuntimeError, type Runtime } from "../runtimes/runtime.js";
import * as store from "../store/task.store.js";
import type { Task } from "../store/tables.js";
import { agentsWithConsumers, ensureAgentConsumer } from "./task-queue.js";

type AbortReason = "cancelled" | "timeout" | "shutdown";

const ABANDON_AFTER_ABORT_MS = 2000;
/** An event still in the outbox after this long was left behind; younger ones are normally being published. */
const EVENT_OUTBOX_GRACE_MS = 2000;

/** A runtime that ignores its abort signal must not hold a slot forever: give it 2 s, then move on. */
function settleOrAbandon<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => reject(new Error(`runtime ignored abort (${String(signal.reason)})`)), ABANDON_AFTER_ABORT_MS);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  });
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

export interface RunnerOptions {
  executorId: string;
  maxConcurrency: number;
  reconcileIntervalMs: number;
  graceMs: number;
  /** Serve only these agents' queues (an SDK process runs its own agent and nothing else). */
  onlyAgents?: string[];
}

/**
 * Pulls tasks from the per-agent durable consumers and runs them. Each agent has its own pullers,
 * so a flooded or slow agent only ever fills its own slots; the server's max_ack_pending holds the
 * agent's concurrency across replicas.
 */
export class TaskRunner {
  private readonly loops = new Map<string, { workers: number; wanted: number }>();
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private reconcileTimer?: NodeJS.Timeout;
  private cancelSub?: Subscription;
  private lastLoopError?: string;
  private readonly logger: Logger;

  constructor(
    private readonly deps: ExecutorDeps,
    private readonly runtimes: Partial<Record<string, Runtime>>,
    private readonly options: RunnerOptions,
  ) {
    this.logger = deps.logger;
  }

  async start(): Promise<void> {
    this.cancelSub = this.deps.nc.subscribe(Subjects.executor.cancelRunning, {
      callback: (_err, msg) => {
        const { task_id } = msg.json<CancelRunningMessage>();
        this.running.get(task_id)?.controller.abort("cancelled" satisfies AbortReason);
      },
    });
    await this.reconcile();
    const tick = () => {
      this.reconcileTimer = setTimeout(() => {
        this.reconcile()
          .catch((err: unknown) => {
            this.lastLoopError = (err as Error).message;
            this.logger.warn("reconcile failed", { error: this.lastLoopError });
          })
          .finally(() => !this.stopping && tick());
      }, this.options.reconcileIntervalMs);
    };
    tick();
  }

  /** Readiness: consuming, and the last reconcile reached the server. */
  health(): void {
    if (this.stopping) throw new Error("stopping");
    if (this.lastLoopError) throw new Error(`not consuming: ${this.lastLoopError}`);
  }

  /** Start pulling an agent's queue now (called after a local submit). */
  ensureAgent(name: string): void {
    if (this.stopping || this.loops.has(name) || !this.serves(name)) return;
    void this.startLoop(name);
  }

  private async reconcile(): Promise<void> {
    for (const name of (await agentsWithConsumers(this.deps.jsm)).filter((n) => this.serves(n))) {
      if (this.loops.has(name)) await this.resize(name);
      else await this.startLoop(name);
    }
    // Outbox: queued rows whose queue message was never confirmed.
    for (const task of await store.unpublishedTasks(this.deps.db, 2000)) {
      this.logger.info("republishing unconfirmed task", { task_id: task.id, correlation_id: task.correlation_id });
      await enqueue(this.deps, task);
    }
    // Events left unpublished by an executor that crashed (or lost NATS) after numbering them.
    const republished = await this.deps.events.republishStale(EVENT_OUTBOX_GRACE_MS);
    if (republished) this.logger.info("republished task events from the outbox", { count: republished });
    this.lastLoopError = undefined;
  }

  private serves(agent: string): boolean {
    return !this.options.onlyAgents || this.options.onlyAgents.includes(agent);
  }

  /** From the directory's cache, which registry events invalidate, so changes apply without a request per task. */
  private async agentOrUndefined(name: string): Promise<AgentView | undefined> {
    try {
      return await this.deps.agents.get(name);
    } catch (err) {
      if (err instanceof MeridianError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  private async resize(name: string): Promise<void> {
    const loop = this.loops.get(name);
    const agent = await this.agentOrUndefined(name);
    if (!loop || !agent || !this.runtimes[agent.runtime]) return;
    await ensureAgentConsumer(this.deps.jsm, agent, this.deps.ackWaitMs);
    loop.wanted = Math.min(agent.concurrency, this.options.maxConcurrency);
    while (loop.workers < loop.wanted) this.spawnWorker(name, loop);
  }

  private async startLoop(name: string): Promise<void> {
    if (this.loops.has(name)) return;
    const loop = { workers: 0, wanted: 1 };
    this.loops.set(name, loop);
    try {
      const agent = await this.agentOrUndefined(name);
      // Agents with a runtime this process lacks (sdk) are served by their own executor processes.
      if (agent && !this.runtimes[agent.runtime]) return;
      loop.wanted = Math.min(agent?.concurrency ?? 1, this.options.maxConcurrency);
      for (let i = 0; i < loop.wanted; i++) this.spawnWorker(name, loop);
    } catch (err) {
      this.loops.delete(name);
      throw err;
    }
  }

  private spawnWorker(name: string, loop: { workers: number; wanted: number }): void {
    loop.workers++;
    void (async () => {
      const consumer = await this.deps.js.consumers.get(Streams.tasks.name, taskConsumerName(name));
      while (!this.stopping && loop.workers <= loop.wanted) {
        let msg: JsMsg | null = null;
        try {
          msg = await consumer.next({ expires: 2000 });
        } catch (err) {
          this.lastLoopError = (err as Error).message;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        if (!msg) continue;
        if (this.stopping) {
          msg.nak();
          break;
        }
        await this.handle(msg).catch((err: unknown) => {
          this.logger.error("task handling failed; message left for redelivery", { agent: name, error: err });
          msg?.nak(1000);
        });
      }
    })()
      .catch((err: unknown) => {
        this.lastLoopError = (err as Error).message;
        this.logger.error("worker stopped", { agent: name, error: err });
      })
      .finally(() => {
        loop.workers--;
      });
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { value: message, problems } = validate(TaskQueueMessageSchema, msg.json());
    if (problems) {
      this.logger.error("poison queue message terminated", { problems });
      msg.term("invalid message");
      return;
    }
    const task = await store.findTask(this.deps.db, message.task_id);
    if (!task) return msg.term("unknown task");
    await runWithContext({ correlationId: task.correlation_id, task_id: task.id }, () => this.attempt(msg, message, task));
  }

  private async attempt(msg: JsMsg, message: TaskQueueMessage, task: Task): Promise<void> {
    const { executorId } = this.options;
    const notBefore = task.not_before ? new Date(task.not_before).getTime() - Date.now() : 0;
    if (task.status === "queued" && task.generation === message.generation && notBefore > 0) {
      msg.nak(notBefore);
      return;
    }
    const leaseMs = this.deps.ackWaitMs;
    const claimed = await store.claimAttempt(this.deps.db, { id: task.id, generation: message.generation, attempt: message.attempt, executorId, leaseMs });
    if (!claimed) return this.unclaimable(msg, message);

    const fence = { id: task.id, attempt: message.attempt, executorId };
    // From the claim until the outcome is stored, tell the server (and the lease) we are alive at a third of
    // AckWait. Looking up the agent and publishing events can stall while NATS reconnects; a lease that ran out
    // meanwhile would let a second executor run the same attempt.
    const heartbeat = setInterval(() => {
      msg.working();
      void store.renewLease(this.deps.db, fence, leaseMs).catch(() => undefined);
    }, Math.max(250, Math.floor(leaseMs / 3)));
    try {
      await this.run(msg, message, task, claimed, fence);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async run(msg: JsMsg, message: TaskQueueMessage, task: Task, claimed: Task, fence: { id: string; attempt: number; executorId: string }): Promise<void> {
    const { executorId } = this.options;
    const agent = await this.agentOrUndefined(task.agent);
    const runtime = agent ? this.runtimes[agent.runtime] : undefined;
    if (!agent || !runtime) {
      const done = await store.finishAttempt(this.deps.db, fence, { status: "failed", error: { code: "AGENT_UNAVAILABLE", message: `Agent ${task.agent} no longer exists or cannot run here` } });
      if (done) await this.deps.events.emit(done, "failed", { error: done.error });
      msg.ack();
      return;
    }
    await this.deps.events.emit(claimed, "started", { executor: executorId });
    if (!(await store.renewLease(this.deps.db, fence, this.deps.ackWaitMs))) {
      // Cancelled, or the lease ran out and another executor took the attempt: its message is theirs now.
      this.logger.warn("attempt lost before it ran; not running it", { task_id: task.id, attempt: message.attempt });
      return;
    }
    this.logger.info("task started", { task_id: task.id, attempt: message.attempt, agent: agent.name });

    const controller = new AbortController();
    let finish!: () => void;
    this.running.set(task.id, { controller, done: new Promise((r) => (finish = r)) });
    const timeout = setTimeout(() => controller.abort("timeout" satisfies AbortReason), claimed.timeout_ms);

    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    const sideEvents: Promise<unknown>[] = [];
    try {
      const result = await settleOrAbandon(runtime({
        taskId: task.id,
        attempt: message.attempt,
        agent,
        input: claimed.input,
        signal: controller.signal,
        correlationId: task.correlation_id,
        progress: (fraction, text) => void sideEvents.push(this.deps.events.emit(claimed, "progress", { fraction, ...(text ? { message: text } : {}) })),
        log: (text, level = "info") =>
          void sideEvents.push(
            store
              .insertLog(this.deps.db, { task_id: task.id, attempt: message.attempt, level, message: text })
              .then(() => this.deps.events.emit(claimed, "log", { level, message: text })),
          ),
      }), controller.signal);
      outcome = { ok: true, result };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearTimeout(timeout);
    }
    // Progress and log events go out before the outcome's event, so the terminal event is the last.
    await Promise.allSettled(sideEvents);
    try {
      await this.settle(msg, claimed, fence, controller.signal, outcome);
    } finally {
      this.running.delete(task.id);
      finish();
    }
  }

  /** Store the outcome (fenced) first, acknowledge second: a crash in between only causes a redelivery we skip. */
  private async settle(
    msg: JsMsg,
    task: Task,
    fence: { id: string; attempt: number; executorId: string },
    signal: AbortSignal,
    outcome: { ok: true; result: unknown } | { ok: false; error: unknown },
  ): Promise<void> {
    const reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
    // The outcome and its event are stored in one transaction: a crash cannot leave a finished task without its terminal event.
    const emitIf = async (write: (db: store.ExecutorDb) => Promise<Task | undefined>, type: TaskEventType, data: Record<string, unknown>) => {
      const stored = await this.deps.db.transaction().execute(async (trx) => {
        const row = await write(trx);
        return row && { row, event: await this.deps.events.record(trx, row, type, data) };
      });
      if (stored) {
        await this.deps.events.publish(stored.event);
        return stored.row;
      }
      // The message is left alone too: it may be another executor's delivery now, and an ack would strand that run.
      this.logger.warn("outcome discarded: this attempt no longer owns the task", { task_id: task.id, attempt: fence.attempt });
      return undefined;
    };

    if (reason === "shutdown") {
      await store.releaseAttempt(this.deps.db, fence);
      msg.nak();
      this.logger.info("task given back on shutdown", { task_id: task.id });
      return;
    }
    if (reason === "cancelled") {
      msg.ack();
      return;
    }
    if (reason === "timeout") {
      const error: TaskError = { code: "TIMEOUT", message: `No result within ${task.timeout_ms} ms` };
      const row = await emitIf((db) => store.finishAttempt(db, fence, { status: "timed_out", error }), "timed_out", { error });
      if (row) await msg.ackAck().catch(() => msg.ack());
      return;
    }
    if (outcome.ok) {
      const row = await emitIf((db) => store.finishAttempt(db, fence, { status: "succeeded", result: outcome.result ?? null }), "succeeded", { result: outcome.result ?? null });
      if (row) {
        await msg.ackAck().catch(() => msg.ack());
        this.logger.info("task succeeded", { task_id: task.id, attempt: fence.attempt });
      }
      return;
    }
    const err = outcome.error;
    const retryable = err instanceof RuntimeError ? err.retryable : true;
    const error: TaskError = {
      code: err instanceof RuntimeError ? "AGENT_ERROR" : "EXECUTION_ERROR",
      message: err instanceof Error ? err.message : String(err),
      retryable,
      ...(err instanceof RuntimeError && err.detail ? { detail: err.detail } : {}),
    };
    if (!retryable) {
      const row = await emitIf((db) => store.finishAttempt(db, fence, { status: "failed", error }), "failed", { error });
      if (row) await msg.ackAck().catch(() => msg.ack());
      return;
    }
    if (fence.attempt >= task.max_attempts) {
      const row = await emitIf((db) => store.finishAttempt(db, fence, { status: "dead_lettered", error }), "dead_lettered", { error, attempts: fence.attempt });
      if (row) msg.term("attempts exhausted");
      this.logger.warn("task dead-lettered", { task_id: task.id, attempts: fence.attempt });
      return;
    }
    const delayMs = task.backoff_ms[fence.attempt - 1] ?? task.backoff_ms.at(-1) ?? 1000;
    const row = await emitIf((db) => store.scheduleRetry(db, fence, error, delayMs), "retrying", { error, next_attempt: fence.attempt + 1, delay_ms: delayMs });
    if (!row) return;
    await enqueue(this.deps, row);
    await msg.ackAck().catch(() => msg.ack());
  }

  /** The message does not match the task's state: finished, stale, or someone else holds a live lease. */
  private async unclaimable(msg: JsMsg, message: TaskQueueMessage): Promise<void> {
    const task = await store.findTask(this.deps.db, message.task_id);
    if (task?.status === "running" && task.generation === message.generation && task.attempts === message.attempt && task.lease_expires_at) {
      msg.nak(Math.max(100, new Date(task.lease_expires_at).getTime() - Date.now() + 100));
      return;
    }
    this.logger.info("skipping a message for a finished or superseded attempt", { task_id: message.task_id, attempt: message.attempt, status: task?.status });
    msg.ack();
  }

  /** Stop pulling; let running tasks finish within the grace period; give the rest back at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconcileTimer);
    this.cancelSub?.unsubscribe();
    const all = [...this.running.values()];
    const grace = new Promise((r) => setTimeout(r, this.options.graceMs).unref());
    await Promise.race([Promise.all(all.map((r) => r.done)), grace]);
    for (const r of this.running.values()) r.controller.abort("shutdown" satisfies AbortReason);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}
