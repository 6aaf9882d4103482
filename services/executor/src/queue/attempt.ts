import { TaskQueueMessageSchema, validate, type AgentView, type TaskError, type TaskQueueMessage } from "@meridian/contracts";
import { runWithContext, type JsMsg } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { capText, decideOutcome, type AbortReason, type AttemptOutcome } from "../domain/outcome.js";
import { cancelTasksOfDeletedAgent } from "../domain/tasks.js";
import { RuntimeError, type Runtime } from "../runtimes/runtime.js";
import * as store from "../store/task.store.js";

const ABANDON_AFTER_ABORT_MS = 2000;
/** Storing an outcome is retried this long (a database outage) while the heartbeat keeps the message. */
const SETTLE_RETRY_FOR_MS = 120_000;

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function outcomeOf(result: PromiseSettledResult<unknown>, signal: AbortSignal): AttemptOutcome {
  if (signal.aborted) return { kind: "aborted", reason: signal.reason as AbortReason };
  if (result.status === "fulfilled") {
    let text: string;
    try {
      text = JSON.stringify(result.value ?? null);
    } catch (err) {
      return { kind: "error", error: { code: "AGENT_ERROR", message: `The result is not JSON: ${(err as Error).message}`, retryable: false } };
    }
    return { kind: "result", value: result.value ?? null, bytes: Buffer.byteLength(text) };
  }
  const err = result.reason as unknown;
  const error: TaskError = {
    code: err instanceof RuntimeError ? (err.code ?? "AGENT_ERROR") : "EXECUTION_ERROR",
    message: capText(err instanceof Error ? err.message : String(err), 2000),
    retryable: err instanceof RuntimeError ? err.retryable : true,
    ...(err instanceof RuntimeError && err.detail ? { detail: err.detail } : {}),
  };
  return { kind: "error", error };
}

/** How a queue message is settled: a JsMsg, or its ack subject when a remote worker holds the attempt. */
export interface Acker {
  ack(): void;
  nak(millis?: number): void;
  working(): void;
  term(reason?: string): void;
}

/** The message does not match the task's state: early, finished, stale, or someone else holds a live lease. */
export async function unclaimable(deps: ExecutorDeps, msg: Acker, message: TaskQueueMessage): Promise<void> {
  const task = await store.findTask(deps.db, message.task_id);
  if (!task) return msg.term("unknown task");
  const current = task.generation === message.generation;
  if (current && task.status === "queued" && task.attempts === message.attempt - 1) {
    const wait = task.not_before ? new Date(task.not_before).getTime() - Date.now() : 0;
    return msg.nak(Math.max(50, wait));
  }
  if (current && task.status === "running" && task.attempts === message.attempt && task.lease_expires_at) {
    return msg.nak(Math.max(100, new Date(task.lease_expires_at).getTime() - Date.now() + 100));
  }
  deps.logger.debug("skipping a message for a finished or superseded attempt", { task_id: message.task_id, attempt: message.attempt, status: task.status });
  msg.ack();
}

/** Redelivery delay after a failure of ours (database or registry away): grows with the delivery count. */
export const backoffFor = (msg: JsMsg) => Math.min(30_000, 250 * 2 ** Math.min(7, (msg.info?.deliveryCount ?? 1) - 1));

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * One attempt's life: claim (with its `started` event, one statement), run, store the outcome (with its
 * event, one statement, fenced), then acknowledge. A crash anywhere leaves either an unclaimed message
 * (redelivered), or a leased row (the lease runs out; redelivery or the sweeper takes it back).
 */
export class AttemptRunner {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly deps: ExecutorDeps,
    private readonly runtimes: Partial<Record<string, Runtime>>,
    private readonly executorId: string,
  ) {}

  get inFlight(): number {
    return this.running.size;
  }

  abort(taskId: string, reason: AbortReason): void {
    this.running.get(taskId)?.controller.abort(reason);
  }

  abortAll(reason: AbortReason): void {
    for (const r of this.running.values()) r.controller.abort(reason);
  }

  async allDone(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  runtimeFor(agent: AgentView): Runtime | undefined {
    return this.runtimes[agent.runtime];
  }

  /** Never throws: every path ends in ack, nak (with a delay) or term. */
  async handle(msg: JsMsg, agentId: string): Promise<void> {
    const { value: message, problems } = validate(TaskQueueMessageSchema, msg.json());
    if (problems) {
      this.deps.logger.error("poison queue message terminated", { problems });
      msg.term("invalid message");
      return;
    }
    if ((msg.info?.deliveryCount ?? 1) > 1) this.deps.onRedelivery?.(agentId);
    try {
      await this.attempt(msg, message, agentId);
    } catch (err) {
      this.deps.logger.warn("attempt could not proceed; message left for redelivery", { task_id: message.task_id, error: (err as Error).message });
      msg.nak(backoffFor(msg));
    }
  }

  private async attempt(msg: JsMsg, message: TaskQueueMessage, agentId: string): Promise<void> {
    const agent = await this.deps.agents.byIdOrUndefined(agentId);
    if (!agent) {
      // Deleted: its tasks are cancelled, this one included; the name may belong to someone else now.
      await cancelTasksOfDeletedAgent(this.deps, agentId);
      msg.ack();
      return;
    }
    const runtime = this.runtimeFor(agent);
    if (!runtime) {
      msg.nak(5000);
      return;
    }
    const [claimed] = await this.deps.claims.add([{
      id: message.task_id,
      generation: message.generation,
      attempt: message.attempt,
      executorId: this.executorId,
      leaseMs: this.deps.ackWaitMs,
      data: { executor: this.executorId, agent_version: agent.version },
    }]);
    if (!claimed) return unclaimable(this.deps, msg, message);
    const { task, event } = claimed;
    void this.deps.relay.publishEvent(event);
    await runWithContext({ correlationId: task.correlation_id, task_id: task.id }, () =>
      this.run(msg, { id: task.id, generation: task.generation, attempt: message.attempt, executorId: this.executorId }, agent, runtime, task),
    );
  }

  private async run(msg: JsMsg, fence: store.Fence, agent: AgentView, runtime: Runtime, task: store.TaskRef & { input: unknown }): Promise<void> {
    const { deps } = this;
    deps.logger.info("task started", { task_id: task.id, attempt: fence.attempt, agent: agent.name });
    const leaseMs = deps.ackWaitMs;
    // From the claim until the outcome is stored, tell the server (and the lease) we are alive at a third of AckWait.
    const heartbeat = setInterval(() => {
      msg.working();
      void store.renewLease(deps.db, fence, leaseMs).catch(() => undefined);
    }, Math.max(250, Math.floor(leaseMs / 3)));

    const controller = new AbortController();
    let finish!: () => void;
    this.running.set(task.id, { controller, done: new Promise((r) => (finish = r)) });
    const timeout = setTimeout(() => controller.abort("timeout" satisfies AbortReason), task.timeout_ms);
    const sideEvents: Promise<unknown>[] = [];
    const side = (type: "progress" | "log", data: Record<string, unknown>, log?: { level: string; message: string }) =>
      sideEvents.push(
        store
          .recordSideEvent(deps.db, fence, type, data, log)
          .then((event) => event && deps.relay.publishEvent(event))
          .catch((err: unknown) => deps.logger.warn("task side event not stored", { task_id: task.id, type, error: (err as Error).message })),
      );
    try {
      const [result] = await Promise.allSettled([
        settleOrAbandon(
          Promise.resolve().then(() =>
            runtime({
              taskId: task.id,
              attempt: fence.attempt,
              agent,
              input: task.input,
              signal: controller.signal,
              correlationId: task.correlation_id,
              progress: (fraction, text) => {
                const data = { fraction: Math.min(1, Math.max(0, Number(fraction) || 0)), ...(text ? { message: capText(String(text), deps.limits.maxLogChars) } : {}) };
                side("progress", data);
              },
              log: (text, level = "info") => {
                const line = { level, message: capText(String(text), deps.limits.maxLogChars) };
                side("log", line, line);
              },
            }),
          ),
          controller.signal,
        ),
      ]);
      clearTimeout(timeout);
      // Progress and log events are stored before the outcome's, so the terminal event is the last.
      await Promise.allSettled(sideEvents);
      await this.settle(msg, fence, task, outcomeOf(result!, controller.signal));
    } finally {
      clearTimeout(timeout);
      clearInterval(heartbeat);
      this.running.delete(task.id);
      finish();
    }
  }

  /** Store the outcome (fenced) first, acknowledge second: a crash in between only causes a redelivery we skip. */
  private async settle(msg: JsMsg, fence: store.Fence, task: store.TaskRef, outcome: AttemptOutcome): Promise<void> {
    const { deps } = this;
    const decision = decideOutcome({ ...task, attempt: fence.attempt }, outcome, deps.limits, `/api/v1/tasks/${task.id}`);
    if (!decision) {
      msg.ack(); // cancelled: the cancel stored the final state and its event
      return;
    }
    const settled = await this.withRetry(async () =>
      decision.status === "released" ? store.settleAttempt(deps.db, fence, decision) : (await deps.settles.add([{ fence, settlement: decision }]))[0],
    );
    if (!settled) {
      deps.logger.warn("outcome discarded: this attempt no longer owns the task", { task_id: task.id, attempt: fence.attempt });
      return unclaimable(deps, msg, { task_id: task.id, generation: fence.generation, attempt: fence.attempt });
    }
    if (decision.status === "released") {
      msg.nak();
      deps.logger.info("task given back on shutdown", { task_id: task.id });
      return;
    }
    if (decision.status === "queued") {
      await deps.relay.publishQueueMessage(settled.task);
      msg.ack();
    } else {
      msg.ack();
    }
    if (settled.event) void deps.relay.publishEvent(settled.event);
    const log = decision.status === "dead_lettered" || decision.status === "failed" ? "warn" : "info";
    deps.logger[log](`task ${decision.event}`, { task_id: task.id, attempt: fence.attempt });
  }

  /** A database outage while an outcome waits: keep trying (the heartbeat keeps the message ours), then give up to redelivery. */
  private async withRetry<T>(write: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + SETTLE_RETRY_FOR_MS;
    for (let delay = 250; ; delay = Math.min(5000, delay * 2)) {
      try {
        return await write();
      } catch (err) {
        if (Date.now() + delay > deadline) throw err;
        this.deps.logger.warn("outcome not stored yet; retrying", { error: (err as Error).message, retry_in_ms: delay });
        await sleep(delay);
      }
    }
  }
}
