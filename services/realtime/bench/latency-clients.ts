// Child process of the latency bench: the Socket.IO clients, off the server's process (its CPU time is the server's).
import { io, type Socket } from "socket.io-client";
import { SocketEvents, type RelayedTaskEvent } from "@meridian/contracts";

export interface ClientsInput {
  url: string;
  auth: Record<string, unknown>;
  sockets: number;
}

export interface ClientsReport {
  latencies: number[];
  received: number;
  duplicates: number;
  outOfOrder: number;
  /** CPU time of the clients' process while measuring, in ms. */
  cpuMs: number;
}

const input = JSON.parse(process.env.BENCH_CLIENTS ?? "{}") as ClientsInput;
const send = (message: unknown) => process.send!(message);
const now = () => performance.timeOrigin + performance.now();
const report: ClientsReport = { latencies: [], received: 0, duplicates: 0, outOfOrder: 0, cpuMs: 0 };
let cpu: NodeJS.CpuUsage | undefined;
const sockets: Socket[] = [];

function track(socket: Socket): void {
  const last = new Map<string, number>();
  socket.on(SocketEvents.taskEvent, (event: RelayedTaskEvent) => {
    // Synthetic events carry a high-resolution publish time; the executor's have `at` (ms).
    if (event.data.warm_up !== true) report.latencies.push(now() - (typeof event.data.sent_at === "number" ? event.data.sent_at : Date.parse(event.at)));
    const previous = last.get(event.task_id) ?? 0;
    if (event.seq <= previous) report.duplicates++;
    else {
      if (event.seq !== previous + 1) report.outOfOrder++;
      last.set(event.task_id, event.seq);
      report.received++;
    }
  });
}

async function open(): Promise<void> {
  for (let i = 0; i < input.sockets; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, input.sockets - i) }, () => {
        const socket = io(input.url, { auth: input.auth, transports: ["websocket"], reconnection: false, forceNew: true });
        sockets.push(socket);
        track(socket);
        return new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("connect_error", reject);
        });
      }),
    );
  }
}

process.on("message", (message: { type: "stop" | "count" }) => {
  if (message.type === "count") return send({ type: "count", received: report.received });
  const used = process.cpuUsage(cpu);
  report.cpuMs = (used.user + used.system) / 1000;
  for (const socket of sockets) socket.disconnect();
  send({ type: "report", report });
});

open().then(
  () => {
    cpu = process.cpuUsage();
    send({ type: "ready" });
  },
  (err: unknown) => send({ type: "error", message: (err as Error).message }),
);
