import { randomUUID } from "node:crypto";
import { connect, credsAuthenticator, headers as natsHeaders, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import {
  agentNatsUser,
  Headers,
  natsInboxPrefix,
  workerSubject,
  type AttemptRef,
  type AttemptReply,
  type ClaimedTask,
  type ClaimReply,
  type CompleteRequest,
  type WorkerOperation,
} from "@meridian/contracts";

/** What a handler gets for one attempt of one task. */
export interface AgentContext<I> {
  input: I;
  taskId: string;
  attempt: number;
  agent: ClaimedTask["agent"];
  correlationId: string;
  /** Fires on cancel, timeout and shutdown; stop promptly and let the promise reject. */
  signal: AbortSignal;
  /** Report progress, 0..1, with an optional message. Reaches subscribers as a `progress` event. */
  progress(fraction: number, message?: string): void;
  /** Append a line to the task's log (GET /api/v1/tasks/{id}/logs) and its events. */
  log(message: string, level?: "info" | "warn" | "error"): void;
}

export type AgentHandler<I = unknown, O = unknown> = (ctx: AgentContext<I>) => Promise<O> | O;

/**
 * Throw to fail an attempt on purpose. `retryable: true` lets the executor try again (with the agent's
 * backoff, up to its max_attempts, then dead letter); false (the default) fails the task at once. Any
 * other thrown error counts as retryable.
 */
export class AgentError extends Error {
  readonly retryable: boolean;
  readonly detail?: Record<string, unknown>;
  constructor(message: string, options: { retryable?: boolean; detail?: Record<string, unknown> } = {}) {
    super(message);
    this.name = "AgentError";
    this.retryable = options.retryable ?? false;
    if (options.detail) this.detail = options.detail;
  }
}

/** Types a handler; does nothing at run time. */
export function defineAgent<I = unknown, O = unknown>(handler: AgentHandler<I, O>): AgentHandler<I, O> {
  return handler;
}

export interface RunAgentOptions<I, O> {
  /** The registered agent's id (runtime "sdk"): GET /api/v1/agents/{name} shows it. */
  agentId: string;
  handler: AgentHandler<I, O>;
  /** A connection of your own (open it with {@link agentConnectOptions}), or `servers` and `credentials` to open one. */
  nc?: NatsConnection;
  servers?: string | string[];
  /** The `creds` text from `POST /api/v1/agents/{name}/worker-credentials`: connects as this agent's NATS user. */
  credentials?: string;
  connectOptions?: Omit<ConnectionOptions, "servers">;
  /** Attempts run at once by this process (the agent's own concurrency still bounds the total). */
  concurrency?: number;
  /** Names this process in the task's events; a token of a-z, 0-9 and '-'. */
  workerId?: string;
  /** On stop(), running attempts get this long to finish before they are aborted. */
  graceMs?: number;
  /** Where the SDK reports what goes wrong (default: a line on stderr). */
  onError?: (message: string, error: unknown) => void;
}

export interface RunningAgent {
  readonly workerId: string;
  stop(): Promise<void>;
}

class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Connection options for an agent's workers: its credentials (when the server has accounts) and its private
 * inbox prefix, the only reply subjects those credentials may read.
 */
export function agentConnectOptions(agentId: string, credentials?: string): Pick<ConnectionOptions, "inboxPrefix" | "authenticator"> {
  return {
    inboxPrefix: natsInboxPrefix(agentNatsUser(agentId)),
    ...(credentials ? { authenticator: credsAuthenticator(new TextEncoder().encode(credentials)) } : {}),
  };
}

/**
 * Run an agent: claim its tasks from the executor over NATS, run the handler, report progress, logs and
 * the outcome. The process needs nothing but a NATS connection allowed to publish on
 * `meridian.worker.<agent id>.>` (and receive replies): no database, no queue, no other agent.
 */
export async function runAgent<I, O>(options: RunAgentOptions<I, O>): Promise<RunningAgent> {
  const nc =
    options.nc ?? (await connect({ servers: options.servers ?? "127.0.0.1:4222", ...agentConnectOptions(options.agentId, options.credentials), ...options.connectOptions }));
  const ownConnection = !options.nc;
  const workerId = options.workerId ?? `w-${randomUUID().slice(0, 12)}`;
  const onError = options.onError ?? ((message, error) => void process.stderr.write(`[agent-sdk] ${message}: ${String((error as Error)?.message ?? error)}\n`));
  const running = new Map<string, AbortController>();
  let stopping = false;

  const call = async <R>(op: WorkerOperation, body: unknown, timeoutMs = 10_000, correlationId?: string): Promise<R> => {
    const h = natsHeaders();
    if (correlationId) h.set(Headers.correlationId, correlationId);
    const msg = await nc.request(workerSubject(options.agentId, op), JSON.stringify(body), { timeout: timeoutMs, headers: h });
    const code = msg.headers?.get(Headers.serviceErrorCode);
    if (code) {
      const payload = (() => {
        try {
          return msg.json<{ message?: string; code?: string }>();
        } catch {
          return {};
        }
      })();
      throw new ProtocolError(payload.code ?? code, payload.message ?? msg.headers?.get(Headers.serviceError) ?? "worker call refused");
    }
    return msg.json<R>();
  };

  const runOne = async (task: ClaimedTask) => {
    const ref: AttemptRef = { task_id: task.task_id, attempt: task.attempt, generation: task.generation, worker_id: workerId, receipt: task.receipt };
    const controller = new AbortController();
    running.set(task.task_id, controller);
    // Side calls of one attempt go out in order, so its log and progress events keep their order.
    let chain: Promise<unknown> = Promise.resolve();
    const side = (op: "progress" | "log", body: object) => {
      chain = chain.then(() => call<AttemptReply>(op, { ...ref, ...body }, 10_000, task.correlation_id)).catch((err: unknown) => onError(`${op} not recorded`, err));
    };
    const timeout = setTimeout(() => controller.abort("timeout"), task.timeout_ms);
    const heartbeat = setInterval(() => {
      call<AttemptReply>("heartbeat", ref, task.heartbeat_ms * 3, task.correlation_id)
        .then((r) => !r.ok && controller.abort("cancelled"))
        .catch((err: unknown) => onError("heartbeat failed", err));
    }, task.heartbeat_ms);
    let complete: Omit<CompleteRequest, keyof AttemptRef>;
    try {
      const result = await options.handler({
        input: task.input as I,
        taskId: task.task_id,
        attempt: task.attempt,
        agent: task.agent,
        correlationId: task.correlation_id,
        signal: controller.signal,
        progress: (fraction, message) => side("progress", { fraction: Math.min(1, Math.max(0, Number(fraction) || 0)), ...(message ? { message } : {}) }),
        log: (message, level = "info") => side("log", { message: String(message), level }),
      });
      complete = controller.signal.reason === "timeout" ? { timed_out: true } : { result: result ?? null };
    } catch (err) {
      if (controller.signal.reason === "timeout") complete = { timed_out: true };
      else {
        const e = err as Partial<AgentError>;
        complete = {
          error: { message: String(e?.message ?? err), retryable: err instanceof AgentError ? err.retryable : true, ...(err instanceof AgentError && err.detail ? { detail: err.detail } : {}) },
        };
      }
    } finally {
      clearTimeout(timeout);
      clearInterval(heartbeat);
    }
    await chain;
    // Retried while the executor is away: the heartbeat has stopped, so the lease is the deadline.
    for (let delay = 250; ; delay = Math.min(5000, delay * 2)) {
      try {
        await call<AttemptReply>("complete", { ...ref, ...complete }, 10_000, task.correlation_id);
        break;
      } catch (err) {
        if (err instanceof ProtocolError) {
          onError("outcome refused", err);
          break;
        }
        if (delay >= 5000 && stopping) break;
        await sleep(delay);
      }
    }
    running.delete(task.task_id);
  };

  const slot = async () => {
    for (let failures = 0; !stopping; ) {
      let reply: ClaimReply;
      try {
        reply = await call<ClaimReply>("claim", { worker_id: workerId, wait_ms: 5000 }, 15_000);
        failures = 0;
      } catch (err) {
        if (stopping) break;
        onError("claim failed; retrying", err);
        await sleep(Math.min(5000, 250 * 2 ** failures++));
        continue;
      }
      if (reply.task) await runOne(reply.task);
    }
  };

  const slots = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => slot());
  return {
    workerId,
    async stop() {
      stopping = true;
      const grace = sleep(options.graceMs ?? 5000);
      await Promise.race([Promise.all(slots), grace]);
      for (const c of running.values()) c.abort("shutdown");
      await Promise.all(slots);
      if (ownConnection) await nc.drain();
    },
  };
}
