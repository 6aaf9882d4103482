import type { TaskError } from "@meridian/contracts";
import type { Settlement } from "../store/task.store.js";

/** Why a run was stopped before it finished on its own. */
export type AbortReason = "cancelled" | "timeout" | "shutdown";

/** How an attempt ended, as the runner saw it. */
export type AttemptOutcome =
  | { kind: "result"; value: unknown; bytes: number }
  | { kind: "error"; error: TaskError }
  | { kind: "aborted"; reason: AbortReason };

export interface AttemptFacts {
  attempt: number;
  max_attempts: number;
  timeout_ms: number;
  backoff_ms: readonly number[];
}

export interface OutcomeLimits {
  /** A result larger than this fails the task: it is not stored. */
  maxResultBytes: number;
  /** A result up to this size travels inside the `succeeded` event; a larger one is left for a GET of the task. */
  inlineResultBytes: number;
}

/** The backoff before attempt `attempt + 1`: the agent's list, its last value repeating. */
export function retryDelay(facts: Pick<AttemptFacts, "attempt" | "backoff_ms">): number {
  return facts.backoff_ms[facts.attempt - 1] ?? facts.backoff_ms.at(-1) ?? 1000;
}

/**
 * The retry / dead-letter / timeout policy: what an attempt's outcome does to its task. Pure.
 * `null`: nothing to store (a cancel already wrote the task's final state).
 */
export function decideOutcome(facts: AttemptFacts, outcome: AttemptOutcome, limits: OutcomeLimits, taskUrl: string): Settlement | null {
  if (outcome.kind === "aborted") {
    if (outcome.reason === "cancelled") return null;
    if (outcome.reason === "shutdown") return { status: "released" };
    const error: TaskError = { code: "TIMEOUT", message: `No result within ${facts.timeout_ms} ms` };
    return { status: "timed_out", error, event: "timed_out", data: { error } };
  }
  if (outcome.kind === "result") {
    if (outcome.bytes > limits.maxResultBytes) {
      const error: TaskError = {
        code: "RESULT_TOO_LARGE",
        message: `The result (${outcome.bytes} bytes) exceeds the limit of ${limits.maxResultBytes} bytes`,
        retryable: false,
      };
      return { status: "failed", error, event: "failed", data: { error } };
    }
    const result = outcome.value ?? null;
    const data = outcome.bytes <= limits.inlineResultBytes ? { result } : { result_bytes: outcome.bytes, result_ref: taskUrl };
    return { status: "succeeded", result, event: "succeeded", data };
  }
  const { error } = outcome;
  if (error.retryable === false) return { status: "failed", error, event: "failed", data: { error } };
  if (facts.attempt >= facts.max_attempts) {
    return { status: "dead_lettered", error, event: "dead_lettered", data: { error, attempts: facts.attempt } };
  }
  const delay = retryDelay(facts);
  return { status: "queued", retryInMs: delay, error, event: "retrying", data: { error, next_attempt: facts.attempt + 1, delay_ms: delay } };
}

/** Cut a text to at most `max` UTF-16 units, saying so. */
export function capText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 15))}… [truncated]`;
}
