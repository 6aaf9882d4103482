import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { Streams, taskConsumerName, Subjects } from "@meridian/contracts";
import { createDatabase, createLogger, jetstreamManager, startPruner, type JetStreamManager, type Pruner } from "@meridian/service-kit";
import { testInfra } from "@meridian/service-kit/testing";
import { AgentDirectory } from "../src/domain/agent-directory.js";
import { ensureAgentConsumer } from "../src/queue/task-queue.js";
import { deletedAgentConsumersStep, finishedTasksStep, RETENTION_LOCK } from "../src/retention/task-retention.js";
import { SCHEMA } from "../src/migrations/index.js";
import type { ExecutorDatabase } from "../src/store/tables.js";
import { ExecutorTestContext, user } from "./executor-context.js";

const logger = createLogger({ service: "test", silent: true });

describe("executor: retention (finished tasks, consumers of deleted agents, one replica at a time)", function () {
  this.timeout(20_000);
  const ctx = new ExecutorTestContext();
  const database = createDatabase<ExecutorDatabase>({ connectionString: testInfra.databaseUrl, schema: SCHEMA, poolSize: 4, logger });
  const pruners: Pruner[] = [];
  const inserted: string[] = [];
  let jsm: JetStreamManager;

  before(async () => {
    await ctx.start();
    // Only the pruners under test may prune.
    for (const e of ctx.executors.splice(0)) await e.stop();
    jsm = await jetstreamManager(ctx.nc);
    await database.pool.query(`insert into analytics_state (key, at) values ('rollup', now()) on conflict (key) do update set at = now()`);
  });
  after(async () => {
    for (const p of pruners) await p.stop();
    // Rows made up here (queued and running ones of agents that never existed) must not reach later suites' sweepers.
    await database.pool.query(`delete from tasks where id = any($1::uuid[])`, [inserted]);
    await database.close();
    await ctx.stop();
  });

  const pruner = (steps = [finishedTasksStep(30)], batchSize = 2) => {
    const p = startPruner({ pool: database.pool, lockKey: RETENTION_LOCK, intervalMs: 86_400_000, steps, logger, batchSize });
    pruners.push(p);
    return p;
  };

  /** A task row as the engine leaves it, finished (or not) `daysAgo` days ago, with a log line and an outbox row. */
  async function task(status: string, daysAgo: number, finished = true): Promise<string> {
    const id = randomUUID();
    inserted.push(id);
    await database.pool.query(
      `insert into tasks (id, agent, agent_id, owner_id, status, max_attempts, timeout_ms, backoff_ms, correlation_id, idempotency_key, created_at, finished_at)
       values ($1, 'ret', $2, $3, $4, 3, 1000, '{100}', 'c', $5, now() - make_interval(days => $6 + 1), case when $7 then now() - make_interval(days => $6) end)`,
      [id, randomUUID(), randomUUID(), status, `key-${id}`, daysAgo, finished],
    );
    await database.pool.query(`insert into task_logs (task_id, attempt, level, message) values ($1, 1, 'info', 'line')`, [id]);
    await database.pool.query(`insert into task_event_outbox (task_id, seq, event) values ($1, 1, '{}')`, [id]);
    return id;
  }

  const remaining = async (ids: string[]) => {
    const { rows } = await database.pool.query<{ id: string }>(`select id from tasks where id = any($1::uuid[])`, [ids]);
    return new Set(rows.map((r) => r.id));
  };

  it("when finished tasks are older than the retention, then they go with their logs and outbox rows; newer and active ones stay", async () => {
    const old = await Promise.all([task("succeeded", 40), task("failed", 31), task("dead_lettered", 60), task("cancelled", 45), task("timed_out", 90)]);
    const recent = await task("succeeded", 29);
    const queued = await task("queued", 100, false);
    const running = await task("running", 100, false);

    const removed = await pruner().runOnce();
    expect(removed!.tasks).to.be.at.least(5);
    const left = await remaining([...old, recent, queued, running]);
    expect([...left].sort()).to.deep.equal([recent, queued, running].sort());
    const { rows: logs } = await database.pool.query(`select task_id from task_logs where task_id = any($1::uuid[])`, [old]);
    const { rows: outbox } = await database.pool.query(`select task_id from task_event_outbox where task_id = any($1::uuid[])`, [old]);
    expect(logs).to.deep.equal([]);
    expect(outbox).to.deep.equal([]);
  });

  it("when a task finished after the last analytics rollup, then it is kept until the rollup counted it", async () => {
    await database.pool.query(`update analytics_state set at = now() - interval '50 days' where key = 'rollup'`);
    try {
      const counted = await task("succeeded", 60);
      const uncounted = await task("succeeded", 40);
      await pruner().runOnce();
      expect([...(await remaining([counted, uncounted]))]).to.deep.equal([uncounted]);
    } finally {
      await database.pool.query(`update analytics_state set at = now() where key = 'rollup'`);
    }
  });

  it("when another replica holds the retention lock, then this one prunes nothing; once released, it prunes", async () => {
    const old = await task("succeeded", 40);
    const other = await database.pool.connect();
    try {
      await other.query(`select pg_advisory_lock(hashtext($1))`, [RETENTION_LOCK]);
      expect(await pruner().runOnce()).to.equal(undefined);
      expect((await remaining([old])).has(old)).to.equal(true);
      await other.query(`select pg_advisory_unlock(hashtext($1))`, [RETENTION_LOCK]);
    } finally {
      other.release();
    }
    expect((await pruner().runOnce())!.tasks).to.be.at.least(1);
    expect((await remaining([old])).size).to.equal(0);
  });

  it("when an agent is deleted and its queue consumer is idle, then the consumer is removed; a live agent's stays", async () => {
    const owner = user();
    const [gone, live] = await Promise.all([ctx.createAgent(owner, { runtime: "echo" }), ctx.createAgent(owner, { runtime: "echo" })]);
    for (const a of [gone, live]) await ensureAgentConsumer(jsm, { agentId: a.id, concurrency: 1, ackWaitMs: 2000 });
    await ctx.request(Subjects.agents.delete, { name: gone.name }, owner);
    const agents = new AgentDirectory(ctx.nc, 5000);
    const removed = await pruner([deletedAgentConsumersStep({ jsm, agents, logger })]).runOnce();
    expect(removed!.consumers).to.be.at.least(1);
    const names: string[] = [];
    for await (const c of jsm.consumers.list(Streams.tasks.name)) names.push(c.name);
    expect(names).to.include(taskConsumerName(live.id));
    expect(names).to.not.include(taskConsumerName(gone.id));
  });
});
