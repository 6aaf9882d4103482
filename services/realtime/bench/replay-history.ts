// `node services/realtime/dist/bench/replay-history.js`: how a task's history is best read for `subscribe { since }`.
// On a private nats-server (file storage, like production): BENCH_STREAM_EVENTS other events in the stream, then
// BENCH_READS concurrent reads of one 10-event task's history, by a consumer per read (before) and by
// STREAM.MSG.GET next_by_subj (now; the task's subject by wildcard, or literal when the owner is known). Prints per-read p50/p99 and the total as JSON.
import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { Streams, taskEventFilter, taskEventSubject } from "@meridian/contracts";
import { startNatsServer } from "@meridian/service-kit/testing";
import { taskHistory } from "../src/relay/history.js";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function byConsumer(js: JetStreamClient, taskId: string): Promise<number> {
  const consumer = await js.consumers.get(Streams.taskEvents.name, { filter_subjects: taskEventFilter(taskId), deliver_policy: DeliverPolicy.All });
  let n = 0;
  try {
    const pending = (await consumer.info(true)).num_pending;
    for await (const _msg of await consumer.fetch({ max_messages: pending, expires: 2000 })) if (++n >= pending) break;
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return n;
}

async function timed(reads: number, read: () => Promise<number>) {
  const took: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: reads }, async () => {
      const t = performance.now();
      const n = await read();
      if (n !== 10) throw new Error(`read ${n} events, expected 10`);
      took.push(performance.now() - t);
    }),
  );
  took.sort((a, b) => a - b);
  const at = (q: number) => Math.round(took[Math.min(took.length - 1, Math.floor(q * took.length))]! * 10) / 10;
  return { reads, total_ms: Math.round(performance.now() - started), p50_ms: at(0.5), p99_ms: at(0.99) };
}

async function main() {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: Streams.taskEvents.name, subjects: [...Streams.taskEvents.subjects] });
    const owner = randomUUID();
    const others = num("BENCH_STREAM_EVENTS", 20_000);
    for (let i = 0; i < others; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, others - i) }, () => js.publish(taskEventSubject(owner, randomUUID()), "{}")));
    }
    const taskId = randomUUID();
    for (let seq = 1; seq <= 10; seq++) await js.publish(taskEventSubject(owner, taskId), JSON.stringify({ task_id: taskId, seq }));
    const reads = num("BENCH_READS", 200);
    const consumer = await timed(reads, () => byConsumer(js, taskId));
    const wildcard = await timed(reads, async () => (await taskHistory(js, jsm, taskId)).length);
    const literal = await timed(reads, async () => (await taskHistory(js, jsm, taskId, owner)).length);
    const result = { stream_events: others + 10, task_events: 10, consumer_per_read: consumer, msg_get_wildcard: wildcard, msg_get_by_owner: literal };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await nc.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`replay bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
