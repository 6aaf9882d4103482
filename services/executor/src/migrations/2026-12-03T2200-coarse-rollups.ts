import { sql, type Kysely } from "kysely";

const COUNTERS = "submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries";
/** Buckets of duration_hist when this migration was written (16 bounds + the open last bucket). */
const HIST_LENGTH = 17;
const HIST_SUM = `array[${Array.from({ length: HIST_LENGTH }, (_, i) => `sum(duration_hist[${i + 1}])::int`).join(", ")}]`;

/**
 * Daily and monthly rollups beside the hourly ones, kept by the same rollup statement: a year of history reads
 * a dozen monthly rows per agent and owner plus the days and hours at its edges, not 8,760 hourly rows each.
 * Filled from the hourly rows already there.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, column, unit] of [
    ["task_stats_daily", "day", "day"],
    ["task_stats_monthly", "month", "month"],
  ] as const) {
    await sql`create table ${sql.raw(table)} (
      ${sql.raw(column)} timestamptz not null,
      owner_id uuid not null,
      agent_id uuid not null,
      agent text not null,
      submitted integer not null default 0,
      succeeded integer not null default 0,
      failed integer not null default 0,
      cancelled integer not null default 0,
      timed_out integer not null default 0,
      dead_lettered integer not null default 0,
      retries integer not null default 0,
      duration_hist integer[] not null,
      primary key (${sql.raw(column)}, owner_id, agent_id)
    )`.execute(db);
    await sql`create index ${sql.raw(`${table}_owner_idx`)} on ${sql.raw(table)} (owner_id, ${sql.raw(column)})`.execute(db);
    await sql`
      insert into ${sql.raw(table)} (${sql.raw(column)}, owner_id, agent_id, agent, ${sql.raw(COUNTERS)}, duration_hist)
      select date_trunc(${sql.lit(unit)}, hour, 'UTC'), owner_id, agent_id, max(agent),
        ${sql.raw(COUNTERS.split(", ").map((c) => `sum(${c})::int`).join(", "))},
        ${sql.raw(HIST_SUM)}
      from task_stats_hourly group by 1, 2, 3`.execute(db);
    await sql`analyze ${sql.raw(table)}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table task_stats_monthly`.execute(db);
  await sql`drop table task_stats_daily`.execute(db);
}
