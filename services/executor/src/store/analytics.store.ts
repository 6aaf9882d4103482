import { sql } from "kysely";
import type { ExecutorDb } from "./task.store.js";

/** Upper bounds (ms) of the run-time histogram's buckets; the last bucket is everything longer. */
export const DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000] as const;

const histogramOf = (column: string) =>
  sql.raw(
    `array[${[...DURATION_BUCKETS_MS.map((ub, i) => `count(*) filter (where ${column} < ${ub}${i ? ` and ${column} >= ${DURATION_BUCKETS_MS[i - 1]}` : ""})`), `count(*) filter (where ${column} >= ${DURATION_BUCKETS_MS.at(-1)})`].join(", ")}]::int[]`,
  );
const EMPTY_HIST = sql.raw(`array_fill(0, array[${DURATION_BUCKETS_MS.length + 1}])`);

/**
 * Fold the tasks submitted and finished since the last rollup (up to `lagMs` ago, so rows still committing
 * are not skipped) into the hourly table. One replica at a time (an advisory lock), one transaction; reads
 * only the new rows through the created/finished indexes.
 */
export async function rollUp(db: ExecutorDb, lagMs: number): Promise<{ rolled: boolean; until?: Date }> {
  return db.transaction().execute(async (trx) => {
    const { rows: lock } = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtext('meridian.executor.analytics-rollup')) as ok`.execute(trx);
    if (!lock[0]?.ok) return { rolled: false };
    const { rows: state } = await sql<{ from: Date; until: Date }>`
      select coalesce((select at from analytics_state where key = 'rollup'), '-infinity'::timestamptz) as from,
             now() - make_interval(secs => ${lagMs / 1000}) as until`.execute(trx);
    const { from, until } = state[0]!;
    await sql`
      with submitted as (
        select date_trunc('hour', created_at) as hour, owner_id, agent_id, max(agent) as agent, count(*)::int as n
        from tasks where created_at >= ${from} and created_at < ${until} group by 1, 2, 3
      ), finished as (
        select date_trunc('hour', finished_at) as hour, owner_id, agent_id, max(agent) as agent,
          count(*) filter (where status = 'succeeded')::int as succeeded, count(*) filter (where status = 'failed')::int as failed,
          count(*) filter (where status = 'cancelled')::int as cancelled, count(*) filter (where status = 'timed_out')::int as timed_out,
          count(*) filter (where status = 'dead_lettered')::int as dead_lettered, coalesce(sum(greatest(attempts - 1, 0)), 0)::int as retries,
          ${histogramOf("extract(epoch from (finished_at - coalesce(started_at, finished_at))) * 1000")} as hist
        from tasks where finished_at >= ${from} and finished_at < ${until} group by 1, 2, 3
      ), merged as (
        select coalesce(s.hour, f.hour) as hour, coalesce(s.owner_id, f.owner_id) as owner_id, coalesce(s.agent_id, f.agent_id) as agent_id,
          coalesce(f.agent, s.agent) as agent, coalesce(s.n, 0) as submitted, coalesce(f.succeeded, 0) as succeeded, coalesce(f.failed, 0) as failed,
          coalesce(f.cancelled, 0) as cancelled, coalesce(f.timed_out, 0) as timed_out, coalesce(f.dead_lettered, 0) as dead_lettered,
          coalesce(f.retries, 0) as retries, coalesce(f.hist, ${EMPTY_HIST}) as hist
        from submitted s full join finished f on s.hour = f.hour and s.owner_id = f.owner_id and s.agent_id = f.agent_id
      )
      insert into task_stats_hourly as h (hour, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, duration_hist)
      select hour, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, hist from merged
      on conflict (hour, owner_id, agent_id) do update set
        agent = excluded.agent, submitted = h.submitted + excluded.submitted, succeeded = h.succeeded + excluded.succeeded,
        failed = h.failed + excluded.failed, cancelled = h.cancelled + excluded.cancelled, timed_out = h.timed_out + excluded.timed_out,
        dead_lettered = h.dead_lettered + excluded.dead_lettered, retries = h.retries + excluded.retries,
        duration_hist = array(select a + b from unnest(h.duration_hist, excluded.duration_hist) as u(a, b))`.execute(trx);
    await sql`insert into analytics_state (key, at) values ('rollup', ${until}) on conflict (key) do update set at = excluded.at`.execute(trx);
    return { rolled: true, until };
  });
}

export interface Scope {
  ownerId?: string;
  agentId?: string;
}
const scoped = (s: Scope) =>
  sql`${s.ownerId ? sql`and owner_id = ${s.ownerId}` : sql``} ${s.agentId ? sql`and agent_id = ${s.agentId}` : sql``}`;

export interface Totals {
  submitted: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  timed_out: number;
  dead_lettered: number;
  retries: number;
  agents: number;
  hist: number[];
}

export async function totals(db: ExecutorDb, s: Scope, from: Date): Promise<Totals> {
  const { rows } = await sql<Totals>`
    with r as (select * from task_stats_hourly where hour >= date_trunc('hour', ${from}::timestamptz) ${scoped(s)})
    select coalesce(sum(submitted), 0)::int as submitted, coalesce(sum(succeeded), 0)::int as succeeded, coalesce(sum(failed), 0)::int as failed,
      coalesce(sum(cancelled), 0)::int as cancelled, coalesce(sum(timed_out), 0)::int as timed_out, coalesce(sum(dead_lettered), 0)::int as dead_lettered,
      coalesce(sum(retries), 0)::int as retries, count(distinct agent_id)::int as agents,
      coalesce((select array_agg(v order by i) from (select i, sum(v)::int as v from r, unnest(r.duration_hist) with ordinality as u(v, i) group by i) x), '{}') as hist
    from r`.execute(db);
  return rows[0]!;
}

export async function busiest(db: ExecutorDb, s: Scope, from: Date, limit = 5) {
  const { rows } = await sql<{ agent_id: string; agent: string; submitted: number; succeeded: number; failed: number }>`
    select agent_id, max(agent) as agent, sum(submitted)::int as submitted, sum(succeeded)::int as succeeded, sum(failed)::int as failed
    from task_stats_hourly where hour >= date_trunc('hour', ${from}::timestamptz) ${scoped(s)}
    group by agent_id order by 3 desc, 1 limit ${limit}`.execute(db);
  return rows;
}

export async function liveCounts(db: ExecutorDb, s: Scope): Promise<{ queued: number; running: number }> {
  const { rows } = await sql<{ queued: number; running: number }>`
    select count(*) filter (where status = 'queued')::int as queued, count(*) filter (where status = 'running')::int as running
    from tasks where status in ('queued', 'running') ${scoped(s)}`.execute(db);
  return rows[0]!;
}

export interface SeriesRow {
  t: Date;
  submitted: number;
  succeeded: number;
  failed: number;
  retries: number;
  hist: number[] | null;
}

/** One row per bucket from `from` to now, empty buckets included. */
export async function series(db: ExecutorDb, s: Scope, from: Date, bucket: "hour" | "day" | "week"): Promise<SeriesRow[]> {
  const step = sql.raw(`'1 ${bucket}'::interval`);
  const unit = sql.lit(bucket);
  const { rows } = await sql<SeriesRow>`
    with buckets as (select generate_series(date_trunc(${unit}, ${from}::timestamptz), now(), ${step}) as t),
    r as (select date_trunc(${unit}, hour) as t, submitted, succeeded, failed, retries, duration_hist
          from task_stats_hourly where hour >= date_trunc(${unit}, ${from}::timestamptz) ${scoped(s)}),
    sums as (select t, sum(submitted)::int as submitted, sum(succeeded)::int as succeeded, sum(failed)::int as failed, sum(retries)::int as retries from r group by t),
    hists as (select t, array_agg(v order by i) as hist from (select r.t, i, sum(v)::int as v from r, unnest(r.duration_hist) with ordinality as u(v, i) group by r.t, i) x group by t)
    select b.t, coalesce(sums.submitted, 0) as submitted, coalesce(sums.succeeded, 0) as succeeded, coalesce(sums.failed, 0) as failed,
      coalesce(sums.retries, 0) as retries, hists.hist
    from buckets b left join sums on sums.t = b.t left join hists on hists.t = b.t order by b.t`.execute(db);
  return rows;
}

export interface ExportCursor {
  created_at: string;
  id: string;
}

/** A page of tasks in creation order after the cursor (keyset: the index does the work however deep the page). */
export async function exportPage(db: ExecutorDb, s: Pick<Scope, "ownerId">, from: Date, after: ExportCursor | undefined, limit: number) {
  const { rows } = await sql<{
    id: string;
    agent: string;
    agent_id: string;
    status: string;
    attempts: number;
    created_at: Date;
    started_at: Date | null;
    finished_at: Date | null;
    /** Microseconds kept (a Date has milliseconds): the cursor must not skip or repeat rows. */
    cursor_at: string;
  }>`
    select id, agent, agent_id, status, attempts, created_at, started_at, finished_at, created_at::text as cursor_at from tasks
    where created_at >= ${from} ${s.ownerId ? sql`and owner_id = ${s.ownerId}` : sql``}
      ${after ? sql`and (created_at, id) > (${after.created_at}::timestamptz, ${after.id}::uuid)` : sql``}
    order by created_at, id limit ${limit}`.execute(db);
  return rows;
}
