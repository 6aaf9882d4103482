// e) a bare JetStream work queue: publish (50 in flight) and a pull consumer acking each message.
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { closedLoop, until } from "../lib/load.js";
import type { Figure } from "../lib/report.js";
import { perSecond, summarize } from "../lib/stats.js";
import { DRAIN_TIMEOUT_MS, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, type BenchContext } from "./context.js";

export async function bareJetStream(ctx: BenchContext): Promise<Figure[]> {
  const js = jetstream(ctx.nc);
  const jsm = await jetstreamManager(ctx.nc);
  const stream = `${ctx.runId}_WQ`.toUpperCase();
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add(stream, { durable_name: "w", ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
  const messages = await (await js.consumers.get(stream, "w")).consume();
  let acked = 0;
  let lastAt = 0;
  const consumer = (async () => {
    for await (const m of messages) {
      m.ack();
      acked++;
      lastAt = Date.now();
    }
  })();
  try {
    const total = Math.round(2000 * ctx.scale);
    const t0 = Date.now();
    const load = await closedLoop(total, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, (i) => js.publish(`${stream}.q`, JSON.stringify({ i })));
    if (load.done === 0) throw new Error(load.firstError ?? "nothing published");
    const complete = await until(() => acked >= load.done, DRAIN_TIMEOUT_MS, 2);
    const pub = summarize(load.latenciesMs);
    return [
      { id: "jetstream", scenario: "e) bare JetStream", metric: "publish → consumed, acked", value: perSecond(acked, lastAt - t0), unit: "jobs/s", note: `${load.done} messages, ${JOBS_IN_FLIGHT} in flight${complete ? "" : ", drain timed out"}` },
      { scenario: "e) bare JetStream", metric: "publish p99", value: pub.p99, unit: "ms", note: `p50 ${pub.p50.toFixed(2)} ms` },
    ];
  } finally {
    await messages.close();
    await consumer;
    await jsm.streams.delete(stream);
  }
}
