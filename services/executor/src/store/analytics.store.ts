import { sql } from "kysely";
import type { ExecutorDb } from "./task.store.js";

/** Upper bounds (ms) of the run-time histogram's buckets; the last bucket is everything longer. */
export const DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000] as const;

const histogramOf = (column: string) =>
  sql.raw(
    `array[${[...DURATION_BUCKETS_MS.map((ub, i) => `count(*) filter (where ${column} < ${ub}${i ? ` and ${column} >= ${DURATION_BUCKETS_MS[i - 1]}` : ""})`), `count(*) filter (where ${column} >= ${DURATION_BUCKETS_MS.at(-1)})`].join(", ")}]::int[]`,
  );
const EMPTY_HIST = sql.raw(`array_fill(0, array[${DURATION_BUCKETS_MS.length + 1}])`);
/** The bucket-wise sum of histograms in a group: fixed subscripts, far cheaper than unnest and regroup. */
const histSum = (column = "duration_hist") =>
  sql.raw(`array[${Array.from({ length: DURATION_BUCKETS_MS.length + 1 }, (_, i) => `coalesce(sum(${column}[${i + 1}]), 0)::int`).join(", ")}]`);
const COUNTERS = ["submitted", "succeeded", "failed", "cancelled", "timed_out", "dead_lettered", "retries"] as const;
const counterSums = sql.raw(COUNTERS.map((c) => `sum(${c})::int as ${c}`).join(", "));
const counterAdds = (alias: string) => sql.raw(COUNTERS.map((c) => `${c} = ${alias}.${c} + excluded.${c}`).join(", "));
const histAdd = (alias: string) => sql.raw(`duration_hist = array(select a + b from unnest(${alias}.duration_hist, excluded.duration_hist) as u(a, b))`);

/**
 * Fold the tasks submitted and finished since the last rollup (up to `lagMs` ago, so rows still committing
 * are not skipped) into the hourly, daily and monthly tables (UTC days and months) in one statement. One replica at a time (an advisory lock), one transaction; reads
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
      , hourly as (
        insert into task_stats_hourly as h (hour, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, duration_hist)
        select hour, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, hist from merged
        on conflict (hour, owner_id, agent_id) do update set agent = excluded.agent, ${counterAdds("h")}, ${histAdd("h")}
      ), daily as (
        insert into task_stats_daily as d (day, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, duration_hist)
        select date_trunc('day', hour, 'UTC'), owner_id, agent_id, max(agent), ${counterSums}, ${histSum("hist")} from merged group by 1, 2, 3
        on conflict (day, owner_id, agent_id) do update set agent = excluded.agent, ${counterAdds("d")}, ${histAdd("d")}
      )
      insert into task_stats_monthly as m (month, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, duration_hist)
      select date_trunc('month', hour, 'UTC'), owner_id, agent_id, max(agent), ${counterSums}, ${histSum("hist")} from merged group by 1, 2, 3
      on conflict (month, owner_id, agent_id) do update set agent = excluded.agent, ${counterAdds("m")}, ${histAdd("m")}`.execute(trx);
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

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The rollup rows covering [from, now) at the coarsest resolution that fits: whole UTC months from the monthly
 * table, the days around them from the daily one, the hours before the first whole day from the hourly one. A
 * year reads ~12 rows per agent and owner, not ~8,760.
 */
function rollupRows(s: Scope, from: Date, now = new Date()) {
  const fromHour = new Date(Math.floor(from.getTime() / HOUR_MS) * HOUR_MS);
  const firstDay = new Date(Math.ceil(fromHour.getTime() / DAY_MS) * DAY_MS);
  const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  const firstMonth = monthStart(firstDay).getTime() === firstDay.getTime() ? firstDay : new Date(Date.UTC(firstDay.getUTCFullYear(), firstDay.getUTCMonth() + 1, 1));
  const thisMonth = monthStart(now);
  const cols = sql.raw(`agent_id, agent, ${COUNTERS.join(", ")}, duration_hist`);
  const hours = sql`select ${cols} from task_stats_hourly where hour >= ${fromHour} and hour < ${firstDay} ${scoped(s)}`;
  // Ranges only (no OR), so each part is an index range scan.
  if (firstMonth >= thisMonth) return sql`${hours} union all select ${cols} from task_stats_daily where day >= ${firstDay} ${scoped(s)}`;
  return sql`
    ${hours}
    union all select ${cols} from task_stats_daily where day >= ${firstDay} and day < ${firstMonth} ${scoped(s)}
    union all select ${cols} from task_stats_monthly where month >= ${firstMonth} and month < ${thisMonth} ${scoped(s)}
    union all select ${cols} from task_stats_daily where day >= ${thisMonth} ${scoped(s)}`;
}

export async function totals(db: ExecutorDb, s: Scope, from: Date): Promise<Totals> {
  const { rows } = await sql<Totals>`
    select ${sql.raw(COUNTERS.map((c) => `coalesce(sum(${c}), 0)::int as ${c}`).join(", "))},
      count(distinct agent_id)::int as agents, ${histSum()} as hist
    from (${rollupRows(s, from)}) r`.execute(db);
  return rows[0]!;
}

export async function busiest(db: ExecutorDb, s: Scope, from: Date, limit = 5) {
  const { rows } = await sql<{ agent_id: string; agent: string; submitted: number; succeeded: number; failed: number }>`
    select agent_id, max(agent) as agent, sum(submitted)::int as submitted, sum(succeeded)::int as succeeded, sum(failed)::int as failed
    from (${rollupRows(s, from)}) r
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
  // Day and week buckets are whole days: the daily rollups hold them in a 24th of the rows.
  const source = bucket === "hour" ? sql.raw("task_stats_hourly") : sql.raw("task_stats_daily");
  const at = bucket === "hour" ? sql.raw("hour") : sql.raw("day");
  const { rows } = await sql<SeriesRow>`
    with buckets as (select generate_series(date_trunc(${unit}, ${from}::timestamptz), now(), ${step}) as t),
    sums as (select date_trunc(${unit}, ${at}) as t, sum(submitted)::int as submitted, sum(succeeded)::int as succeeded,
               sum(failed)::int as failed, sum(retries)::int as retries, ${histSum()} as hist
             from ${source} where ${at} >= date_trunc(${unit}, ${from}::timestamptz) ${scoped(s)} group by 1)
    select b.t, coalesce(sums.submitted, 0) as submitted, coalesce(sums.succeeded, 0) as succeeded, coalesce(sums.failed, 0) as failed,
      coalesce(sums.retries, 0) as retries, sums.hist
    from buckets b left join sums on sums.t = b.t order by b.t`.execute(db);
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
