// `npm run bench`: throughput of Meridian's paths, each as a ratio against a baseline measured in the
// same run on the same machine (absolute numbers vary by machine; the ratios are what we track).
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Headers, Subjects, type Principal, type TaskView } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { startNatsServer, uniqueName } from "@meridian/service-kit/testing";
import { http, newUser } from "../support/http.js";
import { Stack } from "../support/stack.js";

interface Result { name: string; ops: number; seconds: number; p50: number; p99: number }

async function measure(name: string, total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { name, ops: total, seconds, p50: pick(0.5), p99: pick(0.99) };
}

const fmt = (r: Result) =>
  `${r.name.padEnd(46)} ${(r.ops / r.seconds).toFixed(0).padStart(7)} ops/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms`;

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const stack = new Stack(nats.url);
  let nc: NatsConnection | undefined;
  try {
    await stack.start({ agentRegistry: true, executors: 1 });
    nc = await connect({ servers: nats.url });
    const user = newUser();
    await http(stack.gatewayUrl, "POST", "/api/v1/auth/register", { body: user });
    const login = await http(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: user.username, password: user.password } });
    const token = login.body.access_token as string;
    const me = await http(stack.gatewayUrl, "GET", "/api/v1/auth/me", { token });
    const principal: Principal = { kind: "user", sub: me.body.id as string, username: user.username, roles: ["user"], scopes: ["profile:read", "tasks:read", "tasks:write", "agents:read", "agents:write"] };
    const N = Number(process.env.BENCH_N ?? 2000);

    // 1. The HTTP edge against the NATS request it forwards.
    const direct = await measure("baseline: NATS request meridian.auth.me", N, 20, () =>
      requestJson(nc!, Subjects.auth.me, {}, { timeoutMs: 5000, principal }),
    );
    const edge = await measure("gateway: GET /api/v1/auth/me (JWT, rate limit)", N, 20, () => http(stack.gatewayUrl, "GET", "/api/v1/auth/me", { token }));

    // 2. A durable task (outbox, fenced claim, events, confirmed ack) against a bare JetStream work queue.
    const T = Number(process.env.BENCH_TASKS ?? 300);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName("BENCH").replace(/-/g, "_");
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: "workqueue" as never });
    await jsm.consumers.add(stream, { durable_name: "w", ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(stream, "w");
    const worker = (async () => {
      let done = 0;
      const messages = await consumer.consume();
      for await (const m of messages) {
        const reply = m.headers?.get(Headers.correlationId);
        await m.ackAck();
        if (reply) nc!.publish(reply, "ok");
        if (++done === T) break;
      }
    })();
    const bare = await measure("baseline: JetStream publish → pull → ack", T, 10, async (i) => {
      const inbox = `_BENCH.${stream}.${i}`;
      const sub = nc!.subscribe(inbox, { max: 1 });
      const h = natsHeaders();
      h.set(Headers.correlationId, inbox);
      await js.publish(`${stream}.q`, JSON.stringify({ i }), { headers: h, msgID: `${i}` });
      for await (const _ of sub) break;
    });
    await worker;
    const agent = uniqueName("bench").toLowerCase();
    await requestJson(nc, Subjects.agents.create, { name: agent, runtime: "echo", concurrency: 50 }, { timeoutMs: 5000, principal });
    const tasks = await measure("executor: submit echo task, wait for result", T, 10, async (i) => {
      const task = await requestJson<TaskView>(nc!, Subjects.tasks.submit, { agent, input: { i }, wait: 30 }, { timeoutMs: 35_000, principal });
      if (task.status !== "succeeded") throw new Error(`task ${task.id} ended ${task.status}`);
    });

    process.stdout.write(`\nMeridian benchmark (${N} requests, ${T} tasks, concurrency 20 / 10; node ${process.version})\n\n`);
    for (const r of [direct, edge, bare, tasks]) process.stdout.write(`${fmt(r)}\n`);
    const ratio = (a: Result, b: Result) => (a.ops / a.seconds / (b.ops / b.seconds)).toFixed(2);
    process.stdout.write(`\ngateway edge throughput / direct NATS:          ${ratio(edge, direct)}\n`);
    process.stdout.write(`durable task throughput / bare JetStream queue: ${ratio(tasks, bare)}\n`);
    await jsm.streams.delete(stream);
  } finally {
    await nc?.close();
    await stack.stop();
    await nats.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
