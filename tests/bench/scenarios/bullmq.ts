// d) BullMQ on the same Redis (own db index and key prefix): add one at a time (50 in flight) and addBulk of 100.
import { Queue } from "bullmq";
import { closedLoop } from "../lib/load.js";
import { completedAt, PeerProcess } from "../lib/peer-process.js";
import type { Figure } from "../lib/report.js";
import { perSecond, summarize } from "../lib/stats.js";
import { BATCH_SIZE, BATCHES_IN_FLIGHT, DRAIN_TIMEOUT_MS, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, type BenchContext } from "./context.js";

export async function bullmq(ctx: BenchContext): Promise<Figure[]> {
  const prefix = `${ctx.runId}-bull`;
  const name = "noop";
  const connection = { host: ctx.redisHost, port: ctx.redisPort, db: ctx.redisDb };
  const queue = new Queue(name, { connection, prefix });
  const worker = new PeerProcess("bullmq worker", new URL("../peers/bullmq-worker.child.js", import.meta.url), { QUEUE: name, PREFIX: prefix, REDIS_DB: String(ctx.redisDb) });
  try {
    await queue.waitUntilReady();
    await worker.start();
    let expected = 0;
    await closedLoop(20, 10, PHASE_DEADLINE_MS, (i) => queue.add(name, { i }));
    expected += 20;
    await completedAt(worker, expected, DRAIN_TIMEOUT_MS);

    const total = Math.round(2000 * ctx.scale);
    let t0 = Date.now();
    const single = await closedLoop(total, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, (i) => queue.add(name, { i }));
    if (single.done === 0) throw new Error(single.firstError ?? "no job added");
    expected += single.done;
    let done = await completedAt(worker, expected, DRAIN_TIMEOUT_MS);
    const add = summarize(single.latenciesMs);
    const figures: Figure[] = [
      { id: "bullmqAdd", scenario: "d) BullMQ", metric: "add → completed", value: perSecond(single.done, done.at - t0), unit: "jobs/s", note: `${single.done} jobs, ${JOBS_IN_FLIGHT} in flight${done.complete ? "" : ", drain timed out"}` },
      { scenario: "d) BullMQ", metric: "add p99", value: add.p99, unit: "ms", note: `p50 ${add.p50.toFixed(2)} ms` },
    ];

    const calls = Math.round(20 * ctx.scale);
    t0 = Date.now();
    const bulk = await closedLoop(calls, BATCHES_IN_FLIGHT, PHASE_DEADLINE_MS, (i) =>
      queue.addBulk(Array.from({ length: BATCH_SIZE }, (_, j) => ({ name, data: { i: i * BATCH_SIZE + j } }))),
    );
    if (bulk.done === 0) throw new Error(bulk.firstError ?? "no job added");
    const jobs = bulk.done * BATCH_SIZE;
    expected += jobs;
    done = await completedAt(worker, expected, DRAIN_TIMEOUT_MS);
    figures.push(
      { id: "bullmqAddBulk", scenario: "d) BullMQ", metric: `addBulk ×${BATCH_SIZE} accepted`, value: perSecond(jobs, bulk.elapsedMs), unit: "jobs/s", note: `${bulk.done} calls, ${BATCHES_IN_FLIGHT} in flight` },
      { scenario: "d) BullMQ", metric: `addBulk ×${BATCH_SIZE} → completed`, value: perSecond(jobs, done.at - t0), unit: "jobs/s", note: done.complete ? "" : "drain timed out" },
    );
    return figures;
  } finally {
    await worker.stop();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}
