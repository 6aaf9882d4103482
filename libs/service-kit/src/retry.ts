import type { Logger } from "./logger.js";

/**
 * Retry a start-up step until it succeeds, with capped exponential backoff: a peer that is not answering
 * yet delays readiness, never stops the process.
 */
export async function untilReady<T>(what: string, step: () => Promise<T>, logger: Logger, opts: { maxDelayMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  for (let delay = 200; ; delay = Math.min(opts.maxDelayMs ?? 5000, delay * 2)) {
    try {
      return await step();
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      logger.warn(`${what} not ready; retrying`, { error: (err as Error).message, retry_in_ms: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
