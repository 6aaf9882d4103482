import type pg from "pg";
import type { Logger } from "./logger.js";

/** One kind of thing to prune: removes at most `batchSize` of them per call and says how many it removed. */
export interface PruneStep {
  name: string;
  run(client: pg.PoolClient, batchSize: number): Promise<number>;
}

export interface PrunerOptions {
  pool: pg.Pool;
  /** Replicas of one service share it: only the one holding the advisory lock prunes. */
  lockKey: string;
  intervalMs: number;
  steps: PruneStep[];
  logger: Logger;
  batchSize?: number;
  /** A round stops after this many batches of one step; the next round goes on. */
  maxBatchesPerRound?: number;
  /** Called with what each round removed (metrics). */
  onPruned?: (step: string, count: number) => void;
}

export interface Pruner {
  /** One round now: undefined when another replica holds the lock, else rows removed per step. */
  runOnce(): Promise<Record<string, number> | undefined>;
  /** Waits for the batch in flight, then stops. */
  stop(): Promise<void>;
}

/**
 * Retention on one replica at a time: a session-level `pg_try_advisory_lock` on one pooled connection,
 * then each step in small batches, each its own short transaction (an autocommit statement), so the hot
 * tables are never locked for long; rows a live transaction holds are skipped (`for update skip locked`).
 */
export function startPruner(opts: PrunerOptions): Pruner {
  const batchSize = opts.batchSize ?? 1000;
  const maxBatches = opts.maxBatchesPerRound ?? 100;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const round = async (): Promise<Record<string, number> | undefined> => {
    const client = await opts.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext($1)) as ok", [opts.lockKey]);
      if (!rows[0]?.ok) return undefined;
      try {
        const removed: Record<string, number> = {};
        for (const step of opts.steps) {
          let total = 0;
          for (let i = 0; i < maxBatches && !stopping; i++) {
            const n = await step.run(client, batchSize);
            total += n;
            if (n < batchSize) break;
          }
          removed[step.name] = total;
          if (total) opts.onPruned?.(step.name, total);
        }
        if (Object.values(removed).some((n) => n > 0)) opts.logger.info("retention pruned", { removed });
        return removed;
      } finally {
        await client.query("select pg_advisory_unlock(hashtext($1))", [opts.lockKey]);
      }
    } finally {
      client.release();
    }
  };

  const runOnce = () => {
    const result = running.then(round, round);
    running = result.catch(() => undefined);
    return result;
  };

  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      void runOnce()
        .catch((err: unknown) => opts.logger.warn("retention round failed; next round retries", { error: (err as Error).message }))
        .finally(() => !stopping && schedule(opts.intervalMs));
    }, delay);
  };
  // The first round soon after start (a replica that restarts often still prunes), spread so replicas do not all try at once.
  schedule(Math.min(opts.intervalMs, 10_000 + Math.floor(Math.random() * 20_000)));

  return {
    runOnce,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      await running;
    },
  };
}
