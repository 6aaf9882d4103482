import Joi from "joi";
import { uuid } from "./common.js";

/** Figures over the last day, week… up to now; a user sees their own tasks, an admin everyone's. */
export const AnalyticsRanges = { day: 1, week: 7, month: 30, quarter: 91, year: 365 } as const;
export type AnalyticsRange = keyof typeof AnalyticsRanges;
const range = Joi.string().valid(...Object.keys(AnalyticsRanges)).default("week");

export const TimeseriesMetrics = ["submitted", "succeeded", "failed", "retries", "duration_p50", "duration_p95", "duration_p99"] as const;
export type TimeseriesMetric = (typeof TimeseriesMetrics)[number];
export const TimeseriesBuckets = ["hour", "day", "week"] as const;
export type TimeseriesBucket = (typeof TimeseriesBuckets)[number];

export interface DashboardRequest { range: AnalyticsRange }
export const DashboardRequestSchema = Joi.object<DashboardRequest>({ range });

/** `agent`: an agent id, or a name (the agent of that name now). */
export interface AgentAnalyticsRequest { agent: string; range: AnalyticsRange }
export const AgentAnalyticsRequestSchema = Joi.object<AgentAnalyticsRequest>({
  agent: Joi.alternatives(uuid, Joi.string().pattern(/^[a-z0-9][a-z0-9-]{0,63}$/)).required(),
  range,
});

export interface TimeseriesRequest { metric: TimeseriesMetric; range: AnalyticsRange; bucket: TimeseriesBucket; agent_id?: string }
export const TimeseriesRequestSchema = Joi.object<TimeseriesRequest>({
  metric: Joi.string().valid(...TimeseriesMetrics).required(),
  range,
  bucket: Joi.string().valid(...TimeseriesBuckets).default("day"),
  agent_id: uuid,
});

export interface ExportPageRequest { range: AnalyticsRange; after?: string; limit: number }
export const ExportPageRequestSchema = Joi.object<ExportPageRequest>({
  range,
  after: Joi.string().max(200).description("Cursor from the previous page"),
  limit: Joi.number().integer().min(1).max(5000).default(1000),
});

export interface AnalyticsFigures {
  range: AnalyticsRange;
  from: string;
  to: string;
  agents_active: number;
  tasks: { submitted: number; succeeded: number; failed: number; cancelled: number; timed_out: number; dead_lettered: number; queued_now: number; running_now: number };
  /** succeeded / finished, 0..1; null when nothing finished. */
  success_rate: number | null;
  /** Run time (started → finished) of finished tasks, from a log-scale histogram. */
  duration_ms: { p50: number | null; p95: number | null; p99: number | null };
  retries: number;
  dead_letters: number;
  queue_depth: number;
  busiest_agents: Array<{ agent_id: string; agent: string; submitted: number; succeeded: number; failed: number }>;
}
export interface AgentAnalytics extends AnalyticsFigures { agent: { id: string; name: string } }

export interface TimeseriesPoint { t: string; value: number | null }
export interface Timeseries { metric: TimeseriesMetric; bucket: TimeseriesBucket; from: string; to: string; points: TimeseriesPoint[] }

export interface ExportRow {
  id: string;
  agent: string;
  agent_id: string;
  status: string;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}
export interface ExportPage { items: ExportRow[]; next: string | null }
export const EXPORT_COLUMNS: ReadonlyArray<keyof ExportRow> = ["id", "agent", "agent_id", "status", "attempts", "created_at", "started_at", "finished_at", "duration_ms"];
