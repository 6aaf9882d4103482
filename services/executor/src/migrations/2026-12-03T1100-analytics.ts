import { sql, type Kysely } from "kysely";

/**
 * Hourly rollups of the task history, kept by the rollup job (domain/analytics.ts), so the dashboard reads
 * hundreds of rows whatever the number of tasks. `duration_hist` counts finished tasks' run times in the
 * log-scale buckets of DURATION_BUCKETS_MS.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table task_stats_hourly (
    hour timestamptz not null,
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
    primary key (hour, owner_id, agent_id)
  )`.execute(db);
  await sql`create index task_stats_owner_hour_idx on task_stats_hourly (owner_id, hour)`.execute(db);
  await sql`create table analytics_state (key text primary key, at timestamptz not null)`.execute(db);
  await sql`create index tasks_created_idx on tasks (created_at)`.execute(db);
  await sql`create index tasks_finished_idx on tasks (finished_at) where finished_at is not null`.execute(db);
  await sql`create index tasks_owner_active_idx on tasks (owner_id, status) where status in ('queued', 'running')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists tasks_owner_active_idx`.execute(db);
  await sql`drop index if exists tasks_finished_idx`.execute(db);
  await sql`drop index if exists tasks_created_idx`.execute(db);
  await sql`drop table analytics_state`.execute(db);
  await sql`drop table task_stats_hourly`.execute(db);
}
