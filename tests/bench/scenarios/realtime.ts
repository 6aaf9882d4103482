// g) 200 sockets of one user while 30 sleep tasks run: event `at` → receive latency, against a bare Socket.IO +
// Redis adapter server emitting to 200 sockets at the same event rate.
import { exampleTaskEvent, FinalTaskStatuses, SocketEvents, type TaskEvent } from "@meridian/contracts";
import { uniqueName } from "@meridian/service-kit/testing";
import { http } from "../../support/http.js";
import { until } from "../lib/load.js";
import { PeerProcess } from "../lib/peer-process.js";
import type { Figure } from "../lib/report.js";
import { measureSocketLatency, type SocketLatencyResult } from "../lib/socket-latency.js";
import type { BenchContext } from "./context.js";

export const REALTIME_SOCKETS = 200;
export const REALTIME_TASKS = 30;
export const SLEEP_MS = 3000;

const note = (r: SocketLatencyResult) =>
  `${r.sockets} sockets, ${r.expected} events sent (${r.eventRate.toFixed(0)}/s), ${r.events} seen, ${r.deliveries} deliveries, max ${r.max.toFixed(0)} ms`;

function figures(label: string, r: SocketLatencyResult, ids: { p99?: string; p50?: string } = {}): Figure[] {
  const scenario = "g) realtime";
  return [
    { id: ids.p50, scenario, metric: `${label} latency p50`, value: r.p50, unit: "ms", note: note(r) },
    { id: ids.p99, scenario, metric: `${label} latency p99`, value: r.p99, unit: "ms" },
    { scenario, metric: `${label} lost deliveries`, value: r.lost, unit: "" },
  ];
}

export async function realtime(ctx: BenchContext): Promise<Figure[]> {
  if (!ctx.realtimeUrl) throw new Error("no realtime replica");
  const agent = uniqueName("rt").toLowerCase();
  const created = await http(ctx.gatewayUrl, "POST", "/api/v1/agents", { token: ctx.token, body: { name: agent, runtime: "sleep", concurrency: REALTIME_TASKS } });
  if (created.status !== 201) throw new Error(`create agent answered ${created.status}: ${created.text.slice(0, 200)}`);
  let finals = 0;
  const published = new Set<string>();
  const sub = ctx.nc.subscribe(`meridian.events.task.${ctx.ownerId}.>`, {
    callback: (_err, msg) => {
      const e = msg?.json<TaskEvent>();
      if (e?.agent !== agent) return;
      published.add(`${e.task_id}:${e.seq}`);
      if ((FinalTaskStatuses as readonly string[]).includes(e.type)) finals++;
    },
  });
  let meridian: SocketLatencyResult;
  let drivenMs = 0;
  try {
    meridian = await measureSocketLatency({
      url: ctx.realtimeUrl,
      auth: { token: ctx.token },
      sockets: REALTIME_SOCKETS,
      event: SocketEvents.taskEvent,
      drive: async () => {
        const t0 = Date.now();
        await Promise.all(
          Array.from({ length: REALTIME_TASKS }, async (_, i) => {
            const res = await http(ctx.gatewayUrl, "POST", "/api/v1/tasks", { token: ctx.token, body: { agent, input: { ms: SLEEP_MS, i } } });
            if (res.status !== 202) throw new Error(`POST /api/v1/tasks answered ${res.status}: ${res.text.slice(0, 200)}`);
          }),
        );
        if (!(await until(() => finals >= REALTIME_TASKS, SLEEP_MS + 20_000, 20))) throw new Error(`only ${finals}/${REALTIME_TASKS} tasks finished`);
        drivenMs = Date.now() - t0;
      },
      settleMs: 10_000,
      expected: () => published.size,
    });
  } finally {
    sub.unsubscribe();
  }

  const bare = new PeerProcess("bare socket.io", new URL("../peers/socketio-server.child.js", import.meta.url), {
    REDIS_URL: `redis://${ctx.redisHost}:${ctx.redisPort}/${ctx.redisDb}`,
    ADAPTER_KEY: `${ctx.runId}-sio`,
  });
  try {
    const port = (await bare.start()).port as number;
    let emitted = 0;
    const baseline = await measureSocketLatency({
      url: `http://127.0.0.1:${port}`,
      sockets: REALTIME_SOCKETS,
      event: SocketEvents.taskEvent,
      drive: async () => {
        const from = bare.messages.length;
        bare.send({ type: "emit", event: SocketEvents.taskEvent, rate: Math.max(1, meridian.eventRate), seconds: drivenMs / 1000, template: exampleTaskEvent });
        emitted = (await bare.next("emitted", drivenMs + 10_000, from)).n as number;
      },
      settleMs: 10_000,
      expected: () => emitted,
    });
    return [...figures("Meridian", meridian, { p99: "realtimeP99", p50: "realtimeP50" }), ...figures("bare Socket.IO", baseline, { p99: "bareRealtimeP99" })];
  } finally {
    await bare.stop();
  }
}
