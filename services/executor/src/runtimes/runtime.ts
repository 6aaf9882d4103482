import type { AgentView } from "@meridian/contracts";

/** What a runtime gets for one attempt of one task. */
export interface RunContext {
  taskId: string;
  attempt: number;
  agent: AgentView;
  input: unknown;
  /** The correlation id of the request that created the task, when there was one. */
  correlationId?: string;
  /** Aborted on cancel, timeout or shutdown; a runtime must stop promptly when it fires. */
  signal: AbortSignal;
  /** Report progress (0..1) with an optional message; published as a task event. */
  progress(fraction: number, message?: string): void;
  /** Append a log line to the task; published as a task event. */
  log(message: string, level?: "info" | "warn" | "error"): void;
}

/** Thrown by a runtime to say whether another attempt could succeed. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly detail?: Record<string, unknown>,
    /** The task error code; AGENT_ERROR unless the runtime names a more precise one (SSRF_BLOCKED). */
    readonly code?: string,
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}

/** A runtime runs one attempt and resolves with the JSON-serialisable result. */
export type Runtime = (ctx: RunContext) => Promise<unknown>;
