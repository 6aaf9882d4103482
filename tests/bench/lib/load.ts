/** Load shapes: a closed loop (n in flight) and an open loop (a fixed rate), both bounded in count and time. */

export interface LoadOutcome {
  /** Operations that resolved. */
  done: number;
  /** Operations that threw; the first error is kept. */
  failed: number;
  firstError?: string;
  latenciesMs: number[];
  startedAt: number;
  elapsedMs: number;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 200);

/** `total` calls of `op`, `concurrency` at a time, no new call after `deadlineMs`. */
export async function closedLoop(total: number, concurrency: number, deadlineMs: number, op: (i: number) => Promise<unknown>): Promise<LoadOutcome> {
  const out: LoadOutcome = { done: 0, failed: 0, latenciesMs: [], startedAt: performance.now(), elapsedMs: 0 };
  const stopAt = out.startedAt + deadlineMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total && performance.now() < stopAt) {
        const i = next++;
        const t0 = performance.now();
        try {
          await op(i);
          out.latenciesMs.push(performance.now() - t0);
          out.done++;
        } catch (err) {
          out.failed++;
          out.firstError ??= errorText(err);
        }
      }
    }),
  );
  out.elapsedMs = performance.now() - out.startedAt;
  return out;
}

/** `ratePerSecond` calls of `op` per second for `seconds`, not waiting for earlier ones (at most `maxInFlight`). */
export async function openLoop(ratePerSecond: number, seconds: number, maxInFlight: number, op: (i: number) => Promise<unknown>): Promise<LoadOutcome & { skipped: number }> {
  const out = { done: 0, failed: 0, skipped: 0, latenciesMs: [] as number[], startedAt: performance.now(), elapsedMs: 0, firstError: undefined as string | undefined };
  const total = Math.round(ratePerSecond * seconds);
  const interval = 1000 / ratePerSecond;
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = out.startedAt + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (pending.size >= maxInFlight) {
      out.skipped++;
      continue;
    }
    const t0 = performance.now();
    const p: Promise<void> = op(i).then(
      () => {
        out.latenciesMs.push(performance.now() - t0);
        out.done++;
      },
      (err: unknown) => {
        out.failed++;
        out.firstError ??= errorText(err);
      },
    ).finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  out.elapsedMs = performance.now() - out.startedAt;
  return out;
}

/** Resolves when `probe()` is true, or with false after `timeoutMs`. */
export async function until(probe: () => boolean, timeoutMs: number, intervalMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return true;
}
