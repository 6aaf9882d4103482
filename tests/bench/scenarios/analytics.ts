import pg from "pg";
import { http } from "../../support/http.js";
import type { Figure } from "../lib/report.js";
import { percentile } from "../lib/stats.js";
import type { BenchContext } from "./context.js";

const TASKS = 1_000_000;
const CALLS = 50;

/**
 * h) The analytics dashboard over a million tasks: rows written straight into the executor's table (a year of
 * history over 200 agents and 100 owners, a tenth of them the bench user's), folded by the executor's own
 * rollup job (rebuilt from scratch, as after a backfill), then GET /api/v1/analytics/dashboard?range=year timed through the gateway. Target: p50 < 50 ms.
 */
export async function analyticsDashboard(ctx: BenchContext): Promise<Figure[]> {
  if (!ctx.meridianDatabaseUrl) throw new Error("no Meridian database URL");
  const n = Math.max(10_000, Math.round(TASKS * ctx.scale));
  const db = new pg.Client({ connectionString: ctx.meridianDatabaseUrl });
  await db.connect();
  const scenario = "h) analytics dashboard";
  try {
    const t0 = Date.now();
    await db.query(
      `insert into executor.tasks (id, agent, agent_id, agent_version, owner_id, status, input, result, max_attempts, timeout_ms, backoff_ms,
         correlation_id, attempts, created_at, updated_at, started_at, finished_at)
       select gen_random_uuid(), 'agent-' || (i % 200), ('00000000-0000-4000-8000-' || lpad((i % 200)::text, 12, '0'))::uuid, 1,
         case when i % 10 = 0 then $2::uuid else ('00000000-0000-4000-9000-' || lpad((i % 100)::text, 12, '0'))::uuid end,
         (array['succeeded','succeeded','succeeded','succeeded','succeeded','succeeded','succeeded','failed','dead_lettered','cancelled'])[1 + i % 10],
         '{}', null, 3, 60000, '{1000}', 'bench', 1 + i % 3, t, t, t + interval '5 ms', t + make_interval(secs => 0.005 + (i % 5000) / 1000.0)
       from (select i, now() - interval '1 hour' - make_interval(secs => (i::float8 / $1) * 364 * 86400) as t from generate_series(1, $1) i) s`,
      [n, ctx.ownerId],
    );
    const insertSeconds = (Date.now() - t0) / 1000;
    // The rows are back-dated, behind the rollup's watermark: rebuild the rollups from scratch (what an operator
    // does after a backfill), so the executor's job folds the whole table once.
    await db.query("begin; delete from executor.task_stats_hourly; delete from executor.task_stats_daily; delete from executor.task_stats_monthly; delete from executor.analytics_state where key = 'rollup'; commit");
    ctx.log(`analytics: ${n} tasks written in ${insertSeconds.toFixed(1)} s; waiting for the rollup`);
    const expected = n / 10;
    const t1 = Date.now();
    const call = () => http<{ tasks: { submitted: number } }>(ctx.gatewayUrl, "GET", "/api/v1/analytics/dashboard?range=year", { token: ctx.token });
    for (;;) {
      const res = await call();
      if (res.status === 200 && res.body.tasks.submitted >= expected) break;
      if (Date.now() - t1 > 120_000) throw new Error(`the rollup did not fold ${n} tasks within 120 s (last: ${res.status} ${res.text.slice(0, 200)})`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const rollupSeconds = (Date.now() - t1) / 1000;
    const latencies: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const s = performance.now();
      const res = await call();
      if (res.status !== 200) throw new Error(`dashboard answered ${res.status}`);
      latencies.push(performance.now() - s);
    }
    latencies.sort((a, b) => a - b);
    return [
      { id: "analyticsP50", scenario, metric: "dashboard p50 (range=year)", value: percentile(latencies, 0.5), unit: "ms", note: `${n.toLocaleString("en")} tasks in the table, ${CALLS} calls through the gateway` },
      { scenario, metric: "dashboard p99 (range=year)", value: percentile(latencies, 0.99), unit: "ms" },
      { scenario, metric: "rows written", value: n / insertSeconds, unit: "tasks/s", note: `one INSERT … SELECT, ${insertSeconds.toFixed(1)} s` },
      { scenario, metric: "rollup caught up after", value: rollupSeconds, unit: "s", note: "the executor's rollup job, every 5 s" },
    ];
  } finally {
    await db.end();
  }
}
