// c) graphile-worker on the same PostgreSQL: addJob one at a time (50 in flight) and addJobs of 100, to completion.
import { Logger, makeWorkerUtils, type WorkerUtils } from "graphile-worker";
import { createDatabase, dropDatabase } from "../lib/databases.js";
import { closedLoop } from "../lib/load.js";
import { completedAt, PeerProcess } from "../lib/peer-process.js";
import type { Figure } from "../lib/report.js";
import { perSecond, summarize } from "../lib/stats.js";
import { BATCH_SIZE, BATCHES_IN_FLIGHT, DRAIN_TIMEOUT_MS, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, type BenchContext } from "./context.js";

export const GRAPHILE_PRODUCER_POOL = 50;

export async function graphileWorker(ctx: BenchContext): Promise<Figure[]> {
  const dbName = `${ctx.runId}_graphile`;
  const connectionString = await createDatabase(ctx.postgresUrl, dbName);
  let utils: WorkerUtils | undefined;
  const worker = new PeerProcess("graphile-worker", new URL("../peers/graphile-worker.child.js", import.meta.url), { DATABASE_URL: connectionString });
  try {
    utils = await makeWorkerUtils({ connectionString, maxPoolSize: GRAPHILE_PRODUCER_POOL, logger: new Logger(() => () => {}) });
    await utils.migrate();
    await worker.start();
    const u = utils;
    let expected = 0;
    await closedLoop(20, 10, PHASE_DEADLINE_MS, (i) => u.addJob("noop", { i }));
    expected += 20;
    await completedAt(worker, expected, DRAIN_TIMEOUT_MS);

    const total = Math.round(2000 * ctx.scale);
    let t0 = Date.now();
    const single = await closedLoop(total, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, (i) => u.addJob("noop", { i }));
    if (single.done === 0) throw new Error(single.firstError ?? "no job added");
    expected += single.done;
    let done = await completedAt(worker, expected, DRAIN_TIMEOUT_MS);
    const add = summarize(single.latenciesMs);
    const figures: Figure[] = [
      { id: "graphileAddJob", scenario: "c) graphile-worker", metric: "addJob → completed", value: perSecond(single.done, done.at - t0), unit: "jobs/s", note: `${single.done} jobs, ${JOBS_IN_FLIGHT} in flight${done.complete ? "" : ", drain timed out"}` },
      { scenario: "c) graphile-worker", metric: "addJob p99", value: add.p99, unit: "ms", note: `p50 ${add.p50.toFixed(2)} ms` },
    ];

    const calls = Math.round(20 * ctx.scale);
    t0 = Date.now();
    const bulk = await closedLoop(calls, BATCHES_IN_FLIGHT, PHASE_DEADLINE_MS, (i) =>
      u.addJobs(Array.from({ length: BATCH_SIZE }, (_, j) => ({ identifier: "noop", payload: { i: i * BATCH_SIZE + j } }))),
    );
    if (bulk.done === 0) throw new Error(bulk.firstError ?? "no job added");
    const jobs = bulk.done * BATCH_SIZE;
    expected += jobs;
    done = await completedAt(worker, expected, DRAIN_TIMEOUT_MS);
    figures.push(
      { id: "graphileAddJobs", scenario: "c) graphile-worker", metric: `addJobs ×${BATCH_SIZE} accepted`, value: perSecond(jobs, bulk.elapsedMs), unit: "jobs/s", note: `${bulk.done} calls, ${BATCHES_IN_FLIGHT} in flight` },
      { scenario: "c) graphile-worker", metric: `addJobs ×${BATCH_SIZE} → completed`, value: perSecond(jobs, done.at - t0), unit: "jobs/s", note: done.complete ? "" : "drain timed out" },
    );
    return figures;
  } finally {
    await worker.stop();
    await utils?.release();
    await dropDatabase(ctx.postgresUrl, dbName);
  }
}
