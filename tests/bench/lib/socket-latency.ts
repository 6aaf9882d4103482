/**
 * Client side of the realtime scenario, kept apart so another implementation (e.g. `measureRealtimeLatency`) can
 * replace it: N sockets, every received event's `at` → receive latency, and per socket the events it missed.
 */
import { io, type Socket } from "socket.io-client";
import { until } from "./load.js";
import { summarize, type LatencySummary } from "./stats.js";

export interface StampedEvent { task_id: string; seq: number; at: string }

export interface SocketLatencyResult extends LatencySummary {
  sockets: number;
  /** Distinct events seen by any socket. */
  events: number;
  deliveries: number;
  /** Deliveries missing: (events that should have reached every socket) × sockets − deliveries. */
  lost: number;
  /** Events that should have reached every socket (given by the driver, else those seen by any socket). */
  expected: number;
  /** Distinct events per second over the driven window. */
  eventRate: number;
}

export interface SocketLatencyOptions {
  url: string;
  auth?: Record<string, unknown>;
  sockets: number;
  event: string;
  /** Generates the events; resolves when the last one was sent. */
  drive: (seen: () => number) => Promise<void>;
  /** How long after `drive` late deliveries are awaited. */
  settleMs?: number;
  /** How many distinct events each socket should get (e.g. counted at the source); default: those any socket saw. */
  expected?: () => number;
}

function connect(url: string, auth: Record<string, unknown> | undefined): Promise<Socket> {
  const socket = io(url, { auth, transports: ["websocket"], reconnection: false, forceNew: true, timeout: 10_000 });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.disconnect();
      reject(err);
    });
  });
}

export async function measureSocketLatency(options: SocketLatencyOptions): Promise<SocketLatencyResult> {
  const sockets: Socket[] = [];
  const latencies: number[] = [];
  const seenBy: Array<Set<string>> = [];
  const all = new Set<string>();
  let deliveries = 0;
  try {
    for (let i = 0; i < options.sockets; i += 20) {
      const group = await Promise.all(Array.from({ length: Math.min(20, options.sockets - i) }, () => connect(options.url, options.auth)));
      sockets.push(...group);
    }
    sockets.forEach((socket, i) => {
      const seen = new Set<string>();
      seenBy[i] = seen;
      socket.on(options.event, (e: StampedEvent) => {
        const received = Date.now();
        const key = `${e.task_id}:${e.seq}`;
        if (seen.has(key)) return;
        seen.add(key);
        all.add(key);
        deliveries++;
        latencies.push(received - Date.parse(e.at));
      });
    });
    const started = Date.now();
    await options.drive(() => all.size);
    const drivenMs = Date.now() - started;
    const expected = () => Math.max(options.expected?.() ?? 0, all.size);
    await until(() => deliveries >= expected() * sockets.length, options.settleMs ?? 3000, 50);
    const lost = expected() * sockets.length - deliveries;
    return { ...summarize(latencies), sockets: sockets.length, events: all.size, expected: expected(), deliveries, lost, eventRate: (expected() * 1000) / Math.max(1, drivenMs) };
  } finally {
    for (const s of sockets) s.disconnect();
  }
}
