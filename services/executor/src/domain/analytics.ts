import {
  AnalyticsRanges,
  hasScope,
  isAdmin,
  MeridianError,
  SUBJECT_TOKEN_PATTERN,
  type AgentAnalytics,
  type AnalyticsFigures,
  type AnalyticsRange,
  type ExportPage,
  type Principal,
  type Timeseries,
  type TimeseriesBucket,
  type TimeseriesMetric,
} from "@meridian/contracts";
import * as analytics from "../store/analytics.store.js";
import { DURATION_BUCKETS_MS } from "../store/analytics.store.js";
import type { ExecutorDeps } from "./deps.js";

const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A percentile from the run-time histogram: the bucket holding the q-th task, interpolated linearly inside
 * it (the open last bucket answers its lower bound). Null when the histogram is empty.
 */
export function percentileOf(hist: readonly number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    const n = hist[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : DURATION_BUCKETS_MS[i - 1]!;
      const upper = DURATION_BUCKETS_MS[i];
      if (upper === undefined) return lower;
      return Math.round(lower + ((rank - seen) / n) * (upper - lower));
    }
    seen += n;
  }
  return DURATION_BUCKETS_MS.at(-1)!;
}

export function rangeStart(range: AnalyticsRange, now = Date.now()): Date {
  return new Date(now - AnalyticsRanges[range] * DAY_MS);
}

/** Users see figures of their own tasks; admins of everyone's. */
function scopeOf(principal: Principal): analytics.Scope {
  if (!hasScope(principal, "tasks:read")) throw new MeridianError("FORBIDDEN", "Missing scope: tasks:read");
  return isAdmin(principal) ? {} : { ownerId: principal.sub };
}

async function figures(deps: ExecutorDeps, scope: analytics.Scope, range: AnalyticsRange): Promise<AnalyticsFigures> {
  const from = rangeStart(range);
  const [t, top, live] = await Promise.all([analytics.totals(deps.db, scope, from), analytics.busiest(deps.db, scope, from), analytics.liveCounts(deps.db, scope)]);
  const finished = t.succeeded + t.failed + t.cancelled + t.timed_out + t.dead_lettered;
  return {
    range,
    from: from.toISOString(),
    to: new Date().toISOString(),
    agents_active: t.agents,
    tasks: {
      submitted: t.submitted,
      succeeded: t.succeeded,
      failed: t.failed,
      cancelled: t.cancelled,
      timed_out: t.timed_out,
      dead_lettered: t.dead_lettered,
      queued_now: live.queued,
      running_now: live.running,
    },
    success_rate: finished ? Math.round((t.succeeded / finished) * 10_000) / 10_000 : null,
    duration_ms: { p50: percentileOf(t.hist, 0.5), p95: percentileOf(t.hist, 0.95), p99: percentileOf(t.hist, 0.99) },
    retries: t.retries,
    dead_letters: t.dead_lettered,
    queue_depth: live.queued,
    busiest_agents: top,
  };
}

export function dashboard(deps: ExecutorDeps, principal: Principal, range: AnalyticsRange): Promise<AnalyticsFigures> {
  return figures(deps, scopeOf(principal), range);
}

/** One agent, by id or by its current name; a private agent of someone else does not exist for the caller. */
export async function agentAnalytics(deps: ExecutorDeps, principal: Principal, agentRef: string, range: AnalyticsRange): Promise<AgentAnalytics> {
  const scope = scopeOf(principal);
  const byId = UUID.test(agentRef) ? await deps.agents.byIdOrUndefined(agentRef) : undefined;
  const agent = byId ?? (SUBJECT_TOKEN_PATTERN.test(agentRef) ? await deps.agents.named(agentRef) : undefined);
  if (!agent || (!isAdmin(principal) && agent.owner_id !== principal.sub && agent.visibility !== "public")) throw new MeridianError("NOT_FOUND", "No such agent");
  return { ...(await figures(deps, { ...scope, agentId: agent.id }, range)), agent: { id: agent.id, name: agent.name } };
}

export async function timeseries(
  deps: ExecutorDeps,
  principal: Principal,
  req: { metric: TimeseriesMetric; range: AnalyticsRange; bucket: TimeseriesBucket; agent_id?: string },
): Promise<Timeseries> {
  const scope = { ...scopeOf(principal), ...(req.agent_id ? { agentId: req.agent_id } : {}) };
  const from = rangeStart(req.range);
  const buckets = Math.ceil((Date.now() - from.getTime()) / ({ hour: 3_600_000, day: DAY_MS, week: 7 * DAY_MS } as const)[req.bucket]);
  if (buckets > 2000) throw new MeridianError("VALIDATION_FAILED", `Too many buckets (${buckets}): choose a coarser bucket`);
  const rows = await analytics.series(deps.db, scope, from, req.bucket);
  const q = { duration_p50: 0.5, duration_p95: 0.95, duration_p99: 0.99 } as const;
  return {
    metric: req.metric,
    bucket: req.bucket,
    from: from.toISOString(),
    to: new Date().toISOString(),
    points: rows.map((r) => ({
      t: new Date(r.t).toISOString(),
      value: req.metric in q ? percentileOf(r.hist ?? [], q[req.metric as keyof typeof q]) : (r[req.metric as "submitted" | "succeeded" | "failed" | "retries"] ?? 0),
    })),
  };
}

const encodeCursor = (c: analytics.ExportCursor) => Buffer.from(JSON.stringify(c)).toString("base64url");
function decodeCursor(raw: string | undefined): analytics.ExportCursor | undefined {
  if (!raw) return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, "base64url").toString()) as analytics.ExportCursor;
    if (typeof c.created_at === "string" && /^[0-9a-f-]{36}$/.test(c.id) && !Number.isNaN(Date.parse(c.created_at.replace(" ", "T")))) return c;
  } catch {
    /* answered below */
  }
  throw new MeridianError("VALIDATION_FAILED", "Invalid export cursor");
}

export async function exportPage(deps: ExecutorDeps, principal: Principal, req: { range: AnalyticsRange; after?: string; limit: number }): Promise<ExportPage> {
  const scope = scopeOf(principal);
  const rows = await analytics.exportPage(deps.db, scope, rangeStart(req.range), decodeCursor(req.after), req.limit);
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  const last = rows.at(-1);
  return {
    items: rows.map((r) => ({
      id: r.id,
      agent: r.agent,
      agent_id: r.agent_id,
      status: r.status,
      attempts: r.attempts,
      created_at: new Date(r.created_at).toISOString(),
      started_at: iso(r.started_at),
      finished_at: iso(r.finished_at),
      duration_ms: r.started_at && r.finished_at ? new Date(r.finished_at).getTime() - new Date(r.started_at).getTime() : null,
    })),
    next: rows.length === req.limit && last ? encodeCursor({ created_at: last.cursor_at, id: last.id }) : null,
  };
}
