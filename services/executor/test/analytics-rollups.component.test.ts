import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { AnalyticsRanges, type AnalyticsRange } from "@meridian/contracts";
import { createDatabase, createLogger, migrateSchema } from "@meridian/service-kit";
import { testInfra } from "@meridian/service-kit/testing";
import { rangeStart } from "../src/domain/analytics.js";
import { migrations, SCHEMA } from "../src/migrations/index.js";
import { busiest, DURATION_BUCKETS_MS, rollUp, totals } from "../src/store/analytics.store.js";
import type { ExecutorDatabase } from "../src/store/tables.js";

const logger = createLogger({ service: "test", silent: true });
const HIST = DURATION_BUCKETS_MS.length + 1;

/**
 * The dashboard reads months, days and hours from three rollup tables; whatever the range and wherever its start
 * falls (mid-hour, midnight, the first of a month, this month), the figures must equal the hourly rows' sums.
 */
describe("executor: analytics rollups at three resolutions", function () {
  this.timeout(30_000);
  const database = createDatabase<ExecutorDatabase>({ connectionString: testInfra.databaseUrl, schema: SCHEMA, poolSize: 2, logger });
  const owners: string[] = [];

  before(async () => {
    await migrateSchema({ databaseUrl: testInfra.databaseUrl, schema: SCHEMA, migrations, logger });
  });
  after(async () => {
    for (const table of ["task_stats_hourly", "task_stats_daily", "task_stats_monthly", "tasks"]) {
      await database.pool.query(`delete from ${table} where owner_id = any($1::uuid[])`, [owners]);
    }
    await database.close();
  });

  /** The hourly figures straight from the finest table: what every coarser read must add up to. */
  async function hourlySums(owner: string, from: Date) {
    const hist = Array.from({ length: HIST }, (_, i) => `coalesce(sum(duration_hist[${i + 1}]), 0)::int`).join(", ");
    const { rows } = await database.pool.query(
      `select coalesce(sum(submitted), 0)::int as submitted, coalesce(sum(succeeded), 0)::int as succeeded, coalesce(sum(failed), 0)::int as failed,
         coalesce(sum(retries), 0)::int as retries, count(distinct agent_id)::int as agents, array[${hist}] as hist
       from task_stats_hourly where owner_id = $1 and hour >= date_trunc('hour', $2::timestamptz)`,
      [owner, from],
    );
    return rows[0] as { submitted: number; succeeded: number; failed: number; retries: number; agents: number; hist: number[] };
  }

  it("when rollups span 400 days, then every range and every kind of start adds up to the hourly rows", async () => {
    const owner = randomUUID();
    owners.push(owner);
    const agents = [randomUUID(), randomUUID()];
    // One row per hour and agent for 400 days, with counts that differ hour by hour so a missing or doubled
    // hour shows; the daily and monthly rows are folded from them the way the migration backfills.
    await database.pool.query(
      `insert into task_stats_hourly (hour, owner_id, agent_id, agent, submitted, succeeded, failed, retries, duration_hist)
       select h, $1, a.id, 'agent-' || a.n, 1 + (extract(epoch from h)::bigint / 3600) % 7, (extract(epoch from h)::bigint / 3600) % 5, a.n,
              (extract(epoch from h)::bigint / 3600) % 3,
              (select array_agg(case when i = 1 + (extract(epoch from h)::bigint / 3600) % ${HIST} then 1 + a.n else 0 end order by i) from generate_series(1, ${HIST}) i)
       from generate_series(date_trunc('hour', now()) - interval '400 days', date_trunc('hour', now()), interval '1 hour') h,
            (values ($2::uuid, 1), ($3::uuid, 2)) a(id, n)`,
      [owner, ...agents],
    );
    const hist = Array.from({ length: HIST }, (_, i) => `sum(duration_hist[${i + 1}])::int`).join(", ");
    for (const [table, column] of [["task_stats_daily", "day"], ["task_stats_monthly", "month"]] as const) {
      await database.pool.query(
        `insert into ${table} (${column}, owner_id, agent_id, agent, submitted, succeeded, failed, cancelled, timed_out, dead_lettered, retries, duration_hist)
         select date_trunc('${column}', hour, 'UTC'), owner_id, agent_id, max(agent), sum(submitted), sum(succeeded), sum(failed), 0, 0, 0, sum(retries), array[${hist}]
         from task_stats_hourly where owner_id = $1 group by 1, 2, 3`,
        [owner],
      );
    }

    const now = new Date();
    const thisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const starts: [string, Date][] = [
      ...(Object.keys(AnalyticsRanges) as AnalyticsRange[]).map((r) => [`range ${r}`, rangeStart(r)] as [string, Date]),
      ["two hours ago, mid-hour", new Date(now.getTime() - 2 * 3_600_000 - 1_234_567 % 3_600_000)],
      ["midnight 37 days ago", new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 37))],
      ["the first of this month", thisMonth],
      ["the first of the month 5 months ago", new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 5, 1))],
      ["mid-day on the first of a month", new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1, 13, 30))],
      ["the last hour of a month", new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1) - 3_600_000)],
    ];
    for (const [label, from] of starts) {
      const expected = await hourlySums(owner, from);
      const got = await totals(database.db, { ownerId: owner }, from);
      expect(
        { submitted: got.submitted, succeeded: got.succeeded, failed: got.failed, retries: got.retries, agents: got.agents, hist: got.hist },
        `${label} (${from.toISOString()})`,
      ).to.deep.equal(expected);
      const top = await busiest(database.db, { ownerId: owner }, from);
      expect(top.reduce((n, a) => n + a.submitted, 0), `busiest, ${label}`).to.equal(expected.submitted);
    }
  });

  it("when tasks finish, then one rollup folds them into the hourly, daily and monthly tables alike", async () => {
    const owner = randomUUID();
    owners.push(owner);
    const agent = randomUUID();
    await database.pool.query(
      `insert into tasks (id, agent, agent_id, agent_version, owner_id, status, input, max_attempts, timeout_ms, backoff_ms, correlation_id, attempts,
         created_at, updated_at, started_at, finished_at)
       select gen_random_uuid(), 'rollup-probe', $2, 1, $1, (array['succeeded', 'failed', 'dead_lettered'])[1 + i % 3], '{}', 3, 60000, '{1000}', 'test', 1 + i % 2,
         now() - interval '6 seconds', now(), now() - interval '6 seconds', now() - interval '6 seconds' + make_interval(secs => i / 10.0)
       from generate_series(1, 30) i`,
      [owner, agent],
    );
    // Wait for any rollup in progress elsewhere (an executor's sweeper) to let go of the lock.
    for (let i = 0; i < 50 && !(await rollUp(database.db, 0)).rolled; i++) await new Promise((r) => setTimeout(r, 100));
    const read = async (table: string) =>
      (
        await database.pool.query(
          `select sum(submitted)::int as submitted, sum(succeeded)::int as succeeded, sum(failed)::int as failed, sum(dead_lettered)::int as dead_lettered,
             sum(retries)::int as retries, array[${Array.from({ length: HIST }, (_, i) => `sum(duration_hist[${i + 1}])::int`).join(", ")}] as hist
           from ${table} where owner_id = $1`,
          [owner],
        )
      ).rows[0];
    const hourly = await read("task_stats_hourly");
    expect(hourly).to.include({ submitted: 30, succeeded: 10, failed: 10, dead_lettered: 10, retries: 15 });
    expect((hourly.hist as number[]).reduce((a, b) => a + b, 0)).to.equal(30);
    expect(await read("task_stats_daily")).to.deep.equal(hourly);
    expect(await read("task_stats_monthly")).to.deep.equal(hourly);
  });
});
