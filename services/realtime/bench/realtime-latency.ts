import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DeliverPolicy } from "@nats-io/jetstream";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { SocketEvents, Streams, type TaskEvent } from "@meridian/contracts";
import { testInfra, uniqueName } from "@meridian/service-kit/testing";
import { RealtimeTestContext } from "../test/realtime-context.js";
import type { ClientsReport } from "./latency-clients.js";

export interface LatencyOptions {
  /** Connected Socket.IO clients, all of the one user whose tasks publish (default 200). */
  sockets?: number;
  /** Tasks publishing at once, round robin (default 30). */
  tasks?: number;
  /** Target deliveries per second = events per second × sockets (default 13,000). */
  deliveriesPerSecond?: number;
  /** How long events are published (default 10 s); the first second is warm-up, left out of the percentiles. */
  durationMs?: number;
  /**
   * `aligned` (default): every task publishes at the same moments, as tasks started together do (sleep
   * tasks report progress on a timer), so events come in bursts of `tasks`; `spread`: evenly spaced.
   */
  pattern?: "aligned" | "spread";
  /** Also measure a bare Socket.IO + Redis adapter server fed from the same stream (default true). */
  bare?: boolean;
}

export interface LatencyFigures {
  /** From the publish of an event to a client's handler, in ms. */
  p50: number;
  p99: number;
  max: number;
  /** Deliveries that never arrived (events × sockets − distinct deliveries). */
  lost: number;
  duplicates: number;
  out_of_order: number;
  deliveries_per_s: number;
  /** CPU time of the server's process (with the publisher, without the clients) per 1,000 deliveries, in ms: less sensitive to a busy machine than latency. */
  server_cpu_ms_per_1k: number;
  /** The same for the clients' process (Socket.IO client decoding): when it nears 1,000 ms per second, the clients are the bottleneck. */
  clients_cpu_ms_per_1k: number;
}

export interface LatencyResult extends LatencyFigures {
  sockets: number;
  tasks: number;
  events: number;
  bare?: LatencyFigures;
}

export interface Target {
  url: string;
  auth: Record<string, unknown>;
}

const WARM_UP_MS = 1000;
const DRAIN_MS = 5000;

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const round = (n: number) => Math.round(n * 10) / 10;

export function startClients(target: Target, sockets: number): Promise<{ received: () => Promise<number>; finish: () => Promise<ClientsReport> }> {
  const worker: ChildProcess = fork(fileURLToPath(new URL("./latency-clients.js", import.meta.url)), {
    env: { ...process.env, BENCH_CLIENTS: JSON.stringify({ ...target, sockets }) },
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string; message?: string } & T) => {
        if (message.type === "error") reject(new Error(message.message));
        else if (message.type === type) {
          worker.off("message", onMessage);
          resolve(message);
        }
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the bench clients exited with ${code}`)));
    });
  return next("ready").then(() => ({
    received: async () => {
      const answer = next<{ received: number }>("count");
      worker.send({ type: "count" });
      return (await answer).received;
    },
    finish: async () => {
      const answer = next<{ report: ClientsReport }>("report");
      worker.send({ type: "stop" });
      const { report } = await answer;
      if (worker.exitCode === null) {
        const exited = new Promise((r) => worker.once("exit", r));
        worker.kill();
        await exited;
      }
      return report;
    },
  }));
}

/** Publishes `tasks` tasks' events at the target rate into the stream, as the executor does; resolves with the count. */
async function publishAtRate(ctx: RealtimeTestContext, owner: string, options: Required<LatencyOptions>): Promise<number> {
  const tasks = Array.from({ length: options.tasks }, () => ({ task: ctx.task(owner), seq: 0 }));
  const perSecond = options.deliveriesPerSecond / options.sockets;
  const started = performance.now();
  const pending: Array<Promise<number>> = [];
  let published = 0;
  while (performance.now() - started < options.durationMs) {
    const exact = ((performance.now() - started) / 1000) * perSecond;
    const due = options.pattern === "aligned" ? Math.ceil(exact / tasks.length) * tasks.length : Math.floor(exact);
    for (; published < due; published++) {
      const t = tasks[published % tasks.length]!;
      t.seq++;
      const warm = performance.now() - started >= WARM_UP_MS;
      const event: TaskEvent = t.task.event(t.seq, {
        type: t.seq === 1 ? "queued" : "progress",
        data: { fraction: t.seq / 1000, message: `step ${t.seq}`, sent_at: performance.timeOrigin + performance.now(), ...(warm ? {} : { warm_up: true }) },
      });
      pending.push(ctx.publish(event));
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(pending);
  return published;
}

async function measure(ctx: RealtimeTestContext, target: Target, owner: string, options: Required<LatencyOptions>): Promise<LatencyFigures & { events: number }> {
  const clients = await startClients(target, options.sockets);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const events = await publishAtRate(ctx, owner, options);
  const publishSeconds = (performance.now() - started) / 1000;
  const expected = events * options.sockets;
  const deadline = Date.now() + DRAIN_MS;
  while ((await clients.received()) < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const used = process.cpuUsage(cpu);
  const busyMs = (used.user + used.system) / 1000;
  const report = await clients.finish();
  const sorted = report.latencies.sort((a, b) => a - b);
  return {
    p50: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    max: round(sorted.at(-1) ?? NaN),
    lost: expected - report.received,
    duplicates: report.duplicates,
    out_of_order: report.outOfOrder,
    deliveries_per_s: Math.round(report.received / publishSeconds),
    server_cpu_ms_per_1k: round((busyMs / Math.max(1, report.received)) * 1000),
    clients_cpu_ms_per_1k: round((report.cpuMs / Math.max(1, report.received)) * 1000),
    events,
  };
}

/**
 * The floor: Socket.IO with the Redis adapter, every event of the stream emitted once to the owner's room on
 * this node (`local`, as each realtime replica relays the stream to its own sockets).
 */
async function startBareServer(ctx: RealtimeTestContext): Promise<{ url: string; stop: () => Promise<void> }> {
  const pub = createClient({ url: testInfra.redisUrl });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on("error", () => undefined);
  await Promise.all([pub.connect(), sub.connect()]);
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub, { key: uniqueName("bench-bare") }), transports: ["websocket"] });
  io.on("connection", (socket) => void socket.join(`user:${String((socket.handshake.auth as { sub?: unknown }).sub)}`));
  const consumer = await ctx.js.consumers.get(Streams.taskEvents.name, { deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume();
  void (async () => {
    for await (const msg of messages) {
      const event = msg.json<TaskEvent>();
      io.local.to(`user:${event.owner_id}`).emit(SocketEvents.taskEvent, { ...event, stream_seq: msg.seq });
    }
  })();
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    stop: async () => {
      await messages.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await Promise.all([pub.quit(), sub.quit()]);
    },
  };
}

/**
 * Latency of the realtime service (in-process, real NATS and Redis) from the publish of a task event to
 * `sockets` clients of its owner (in a worker thread), at a target delivery rate; and the same for a
 * bare Socket.IO + Redis adapter server fed from the same stream. A measurement, not a test: it never fails
 * on a figure.
 */
export async function measureRealtimeLatency(opts: LatencyOptions = {}): Promise<LatencyResult> {
  const options: Required<LatencyOptions> = { sockets: 200, tasks: 30, deliveriesPerSecond: 13_000, durationMs: 10_000, pattern: "aligned", bare: true, ...opts };
  const ctx = new RealtimeTestContext();
  try {
    await ctx.startPeers();
    const owner = randomUUID();
    const replica = await ctx.startReplica({ LOG_LEVEL: "warn" });
    const realtime = await measure(ctx, { url: replica.url, auth: { token: await ctx.token({ sub: owner }) } }, owner, options);
    await ctx.stopReplica(replica);
    let bare: LatencyFigures | undefined;
    if (options.bare) {
      const server = await startBareServer(ctx);
      try {
        const { events: _events, ...figures } = await measure(ctx, { url: server.url, auth: { sub: owner } }, owner, options);
        bare = figures;
      } finally {
        await server.stop();
      }
    }
    return { ...realtime, sockets: options.sockets, tasks: options.tasks, ...(bare ? { bare } : {}) };
  } finally {
    await ctx.stop();
  }
}
