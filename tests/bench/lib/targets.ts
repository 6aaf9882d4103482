/** The targets the bench reports against, from the figures by id; pure, unit-tested. */
import type { Figure, Target } from "./report.js";
import { ratio } from "./stats.js";

export function buildTargets(figures: readonly Figure[]): Target[] {
  const v = (id: string) => figures.find((f) => f.id === id && !f.error)?.value;
  return [
    { name: "tasks: Meridian submit→succeeded / graphile-worker addJob→completed", value: ratio(v("tasks"), v("graphileAddJob")), op: ">=", goal: 1.5, basis: "a) / c)" },
    { name: "batch: Meridian batch accepted / graphile-worker addJobs×100 accepted", value: ratio(v("batch"), v("graphileAddJobs")), op: ">=", goal: 0.6, basis: "b) / c)" },
    { name: "GET agents: gateway / bare Express", value: ratio(v("edge"), v("bareExpress")), op: ">=", goal: 0.35, basis: "f)" },
    { name: "realtime: event → client p99", value: v("realtimeP99"), op: "<=", goal: 100, unit: "ms", basis: "g)" },
    { name: "analytics: dashboard p50 over a million tasks", value: v("analyticsP50"), op: "<=", goal: 50, unit: "ms", basis: "h)" },
    { name: "tasks: Meridian / BullMQ add→completed", value: ratio(v("tasks"), v("bullmqAdd")), basis: "a) / d)" },
    { name: "tasks: Meridian / bare JetStream", value: ratio(v("tasks"), v("jetstream")), basis: "a) / e)" },
    { name: "batch: Meridian / BullMQ addBulk×100 accepted", value: ratio(v("batch"), v("bullmqAddBulk")), basis: "b) / d)" },
    { name: "realtime p99: Meridian / bare Socket.IO", value: ratio(v("realtimeP99"), v("bareRealtimeP99")), basis: "g)" },
  ];
}
