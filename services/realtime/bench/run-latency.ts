// `node services/realtime/dist/bench/run-latency.js`: prints measureRealtimeLatency() as JSON.
// Environment: BENCH_SOCKETS, BENCH_TASKS, BENCH_RATE (deliveries/s), BENCH_DURATION_MS, BENCH_PATTERN=spread, BENCH_BARE=0.
import { measureRealtimeLatency } from "./realtime-latency.js";

const num = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

measureRealtimeLatency({
  ...(num("BENCH_SOCKETS") ? { sockets: num("BENCH_SOCKETS")! } : {}),
  ...(num("BENCH_TASKS") ? { tasks: num("BENCH_TASKS")! } : {}),
  ...(num("BENCH_RATE") ? { deliveriesPerSecond: num("BENCH_RATE")! } : {}),
  ...(num("BENCH_DURATION_MS") ? { durationMs: num("BENCH_DURATION_MS")! } : {}),
  ...(process.env.BENCH_PATTERN === "spread" ? { pattern: "spread" as const } : {}),
  bare: process.env.BENCH_BARE !== "0",
}).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`realtime latency bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
