import { loadExecutorConfig, RuntimeError, start, type RunContext, type Runtime } from "@meridian/executor";
import { SUBJECT_TOKEN_PATTERN, type AgentView } from "@meridian/contracts";
import type Transport from "winston-transport";

/** What a handler gets for one attempt of one task. */
export interface AgentContext<I> {
  input: I;
  taskId: string;
  attempt: number;
  agent: AgentView;
  correlationId?: string;
  /** Fires on cancel, timeout and shutdown; stop promptly and let the promise reject. */
  signal: AbortSignal;
  /** Report progress, 0..1, with an optional message. Reaches subscribers as a `progress` event. */
  progress(fraction: number, message?: string): void;
  /** Append a line to the task's log (GET /api/v1/tasks/{id}/logs) and its events. */
  log(message: string, level?: "info" | "warn" | "error"): void;
}

export type AgentHandler<I = unknown, O = unknown> = (ctx: AgentContext<I>) => Promise<O> | O;

/**
 * Throw to fail an attempt on purpose. `retryable: true` lets the executor try again (with the
 * agent's backoff, up to its max_attempts, then dead letter); false fails the task at once.
 * Any other thrown error counts as retryable.
 */
export class AgentError extends RuntimeError {
  constructor(message: string, options: { retryable?: boolean; detail?: Record<string, unknown> } = {}) {
    super(message, options.retryable ?? false, options.detail);
    this.name = "AgentError";
  }
}

/** Types a handler; does nothing at run time. */
export function defineAgent<I = unknown, O = unknown>(handler: AgentHandler<I, O>): AgentHandler<I, O> {
  return handler;
}

export interface RunAgentOptions<I, O> {
  /** The registered agent's name; it must have runtime "sdk". */
  agent: string;
  handler: AgentHandler<I, O>;
  /** Executor settings (NATS_URL, DATABASE_URL, ACK_WAIT_MS, …); process.env by default. */
  env?: Record<string, string | undefined>;
  logTransports?: Transport[];
  silentLogs?: boolean;
}

export interface RunningAgent {
  stop(): Promise<void>;
}

function toRuntime<I, O>(handler: AgentHandler<I, O>): Runtime {
  return async (ctx: RunContext) =>
    handler({
      input: ctx.input as I,
      taskId: ctx.taskId,
      attempt: ctx.attempt,
      agent: ctx.agent,
      ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
      signal: ctx.signal,
      progress: (fraction, message) => ctx.progress(Math.min(1, Math.max(0, fraction)), message),
      log: (message, level) => ctx.log(message, level),
    });
}

/**
 * Run an agent inside an executor process of your own: it pulls only this agent's tasks from the
 * shared queue, with every guarantee of the built-in executor (fencing, retries, dead letters,
 * cancel, timeouts, graceful shutdown). Stop it with `stop()` (or SIGTERM via your own handler).
 */
export async function runAgent<I, O>(options: RunAgentOptions<I, O>): Promise<RunningAgent> {
  if (!SUBJECT_TOKEN_PATTERN.test(options.agent)) throw new Error(`Invalid agent name: ${options.agent}`);
  const config = loadExecutorConfig({ ...(options.env ?? process.env), CONSUME: "true" });
  const running = await start(config, {
    runtimes: { sdk: toRuntime(options.handler) },
    onlyAgents: [options.agent],
    serveApi: false,
    ...(options.logTransports ? { logTransports: options.logTransports } : {}),
    ...(options.silentLogs ? { silentLogs: true } : {}),
  });
  return { stop: () => running.stop() };
}
