import { expect } from "chai";
import pg from "pg";
import { jetstreamManager } from "@meridian/service-kit";
import { refusal, testInfra, waitFor } from "@meridian/service-kit/testing";
import { Streams, Subjects, taskConsumerName, taskQueueSubject, type AgentView, type TaskEvent, type TaskView } from "@meridian/contracts";
import { ExecutorTestContext, Recorder, user } from "./executor-context.js";

const FINAL = ["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"];

describe("executor: task engine v2 (identity, access, fences, sweeper, limits)", function () {
  this.timeout(60_000);
  const ctx = new ExecutorTestContext();
  const owner = user();
  const admin = user(["admin"]);
  let db: pg.Client;

  before(async () => {
    await ctx.start();
    db = new pg.Client({ connectionString: testInfra.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await ctx.stop();
  });

  const submit = (body: Record<string, unknown>, principal = owner) => ctx.request<TaskView>(Subjects.tasks.submit, body, principal);
  const get = (id: string, principal = owner) => ctx.request<TaskView>(Subjects.tasks.get, { id }, principal);
  const settled = (id: string, principal = owner, timeoutMs = 20_000) =>
    waitFor(async () => {
      const t = await get(id, principal);
      return FINAL.includes(t.status) ? t : undefined;
    }, { timeoutMs, what: `task ${id} to finish` });

  it("when an agent is deleted with queued tasks and its name registered again by another user, then the old tasks are cancelled and never reach the new agent", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 1 });
    const running = await submit({ agent: agent.name, input: { ms: 10_000 } });
    await waitFor(async () => (await get(running.id)).status === "running", { what: "first task running" });
    const queued = await Promise.all([1, 2, 3].map((i) => submit({ agent: agent.name, input: { ms: 10, secret: i } })));
    await ctx.request(Subjects.agents.delete, { name: agent.name }, owner);
    const intruder = user();
    const reborn = await ctx.request<AgentView>(Subjects.agents.create, { name: agent.name, runtime: "sleep", visibility: "public" }, intruder);
    expect(reborn.id).to.not.equal(agent.id);
    for (const t of [running, ...queued]) {
      const done = await settled(t.id);
      expect(done.status).to.equal("cancelled");
      expect(done.agent_id).to.equal(agent.id);
      const last = (await ctx.events(t)).at(-1)!;
      expect(last).to.deep.include({ type: "cancelled", agent_id: agent.id });
      expect(last.data).to.deep.include({ reason: "agent_deleted" });
    }
    expect(ctx.recorder.completed.filter((id) => queued.some((q) => q.id === id))).to.deep.equal([]);
    expect((await get(running.id)).result).to.equal(null);
  });

  it("when a user runs another user's private agent, then NOT_FOUND; a public agent runs for anyone", async () => {
    const stranger = user();
    const priv = await ctx.createAgent(owner, { runtime: "echo" });
    expect((await refusal(submit({ agent: priv.name, input: 1 }, stranger))).code).to.equal("NOT_FOUND");
    const batch = await ctx.request<{ items: Array<{ status: number }> }>(Subjects.tasks.submitBatch, { tasks: [{ agent: priv.name }] }, stranger);
    expect(batch.items[0]!.status).to.equal(404);
    const pub = await ctx.createAgent(owner, { runtime: "echo", visibility: "public" });
    const task = await submit({ agent: pub.name, input: { hi: 1 }, wait: 10 }, stranger);
    expect(task).to.deep.include({ status: "succeeded", owner_id: stranger.sub, agent_id: pub.id, agent_version: pub.version });
    expect((await submit({ agent: priv.name, input: 1, wait: 10 }, admin)).status).to.equal("succeeded");
  });

  it("when a batch mixes good and bad items, then each item answers on its own, in order", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    const res = await ctx.request<{ items: Array<{ status: number; task?: TaskView; error?: { code: string } }> }>(
      Subjects.tasks.submitBatch,
      { tasks: [{ agent: agent.name, input: 1 }, { agent: "no-such-agent-x" }, { agent: agent.name, input: "\u0000" }, { agent: agent.name, input: 3, idempotency_key: "b-1" }] },
      owner,
    );
    expect(res.items.map((i) => i.status)).to.deep.equal([202, 404, 422, 202]);
    expect(res.items[2]!.error!.code).to.equal("VALIDATION_FAILED");
    for (const item of [res.items[0]!, res.items[3]!]) expect((await settled(item.task!.id)).status).to.equal("succeeded");
    const again = await ctx.request<{ items: Array<{ task?: TaskView }> }>(Subjects.tasks.submitBatch, { tasks: [{ agent: agent.name, input: 3, idempotency_key: "b-1" }] }, owner);
    expect(again.items[0]!.task!.id).to.equal(res.items[3]!.task!.id);
  });

  it("when input is nested thousands of levels deep, then VALIDATION_FAILED, not a crash", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    let deep: unknown = 1;
    for (let i = 0; i < 4000; i++) deep = [deep];
    expect((await refusal(submit({ agent: agent.name, input: deep }))).code).to.equal("VALIDATION_FAILED");
  });

  it("when a running task is cancelled, then was_running is true, the run is aborted, and nothing it writes afterwards is recorded", async () => {
    const stubborn = new Recorder();
    const inner = stubborn.runtime;
    stubborn.runtime = async (c) => {
      c.signal.addEventListener("abort", () => {
        c.log("after abort");
        c.progress(0.9, "after abort");
      });
      return inner(c);
    };
    const agent = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 1 });
    const replica = await ctx.startExecutor({}, stubborn);
    try {
      // Only the stubborn replica may take it: the context's own executor has the ordinary recorder.
      let task: TaskView | undefined;
      for (let i = 0; i < 20 && !task; i++) {
        const t = await submit({ agent: agent.name, input: { ms: 10_000 } });
        await waitFor(async () => (await get(t.id)).status === "running", { what: "running" });
        if (stubborn.started.includes(t.id)) task = t;
        else await ctx.request(Subjects.tasks.cancel, { id: t.id }, owner);
      }
      expect(task, "a task on the stubborn replica").to.not.equal(undefined);
      const cancelled = await ctx.request<TaskView>(Subjects.tasks.cancel, { id: task!.id }, owner);
      expect(cancelled.status).to.equal("cancelled");
      await waitFor(() => stubborn.active === 0, { what: "the run aborted" });
      await new Promise((r) => setTimeout(r, 300));
      const events = await ctx.events(task!);
      const last = events.at(-1)!;
      expect(last.type).to.equal("cancelled");
      expect(last.data).to.deep.include({ was_running: true });
      expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));
      const { rows } = await db.query("select count(*)::int as n from executor.task_logs where task_id = $1", [task!.id]);
      expect(rows[0].n).to.equal(0);
    } finally {
      await replica.stop();
      ctx.executors.splice(ctx.executors.indexOf(replica), 1);
    }
  });

  it("when garbage arrives on the cancel broadcast, then the executor keeps hearing NATS and a real cancel still works", async () => {
    for (const payload of ["not json", "{}", JSON.stringify({ task_id: 7 }), "null"]) ctx.nc.publish(Subjects.executor.cancelRunning, payload);
    const agent = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 1 });
    const task = await submit({ agent: agent.name, input: { ms: 10_000 } });
    await waitFor(async () => (await get(task.id)).status === "running", { what: "running" });
    const before = Date.now();
    await ctx.request(Subjects.tasks.cancel, { id: task.id }, owner);
    await waitFor(() => !ctx.recorder.started.includes(task.id) || ctx.recorder.active === 0, { what: "aborted" });
    expect(Date.now() - before).to.be.below(3000);
    expect((await submit({ agent: (await ctx.createAgent(owner, { runtime: "echo" })).name, input: 1, wait: 10 })).status).to.equal("succeeded");
  });

  it("when a result exceeds the inline limit, then the event carries a reference; past the hard limit the task fails", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    const big = { blob: "x".repeat(200 * 1024) };
    const task = await submit({ agent: agent.name, input: big, wait: 10 });
    expect(task.status).to.equal("succeeded");
    expect((task.result as typeof big).blob).to.have.length(200 * 1024);
    const succeeded = (await ctx.events(task)).find((e) => e.type === "succeeded")!;
    expect(succeeded.data).to.deep.equal({ result_bytes: JSON.stringify(big).length, result_ref: `/api/v1/tasks/${task.id}` });

    const sleeper = await ctx.createAgent(owner, { runtime: "sleep" });
    const huge = await submit({ agent: sleeper.name, input: { ms: 1, result_bytes: 5 * 1024 * 1024 }, wait: 20 });
    expect(huge.status).to.equal("failed");
    expect(huge.error).to.deep.include({ code: "RESULT_TOO_LARGE", retryable: false });
  });

  it("when an outbox event is too large to publish, then it goes out without its data and later events still flow", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    const task = await submit({ agent: agent.name, input: 1, wait: 10 });
    // An event left behind by an older executor, larger than the server's max_payload.
    await db.query("update executor.tasks set event_seq = event_seq + 1 where id = $1", [task.id]);
    await db.query(
      `insert into executor.task_event_outbox (task_id, seq, event, created_at)
       select id, event_seq, jsonb_build_object('task_id', id, 'type', 'log', 'agent', agent, 'agent_id', agent_id, 'owner_id', owner_id,
         'attempt', 1, 'data', jsonb_build_object('message', repeat('z', 2 * 1024 * 1024)), 'at', now(), 'correlation_id', correlation_id), now() - interval '1 minute'
       from executor.tasks where id = $1`,
      [task.id],
    );
    const later = await submit({ agent: agent.name, input: 2, wait: 10 });
    await waitFor(async () => (await ctx.events(task)).length === 4, { timeoutMs: 10_000, what: "the oversized event published" });
    const oversized = (await ctx.events(task))[3]!;
    expect(oversized.data).to.deep.include({ truncated: true });
    expect((await ctx.events(later)).map((e) => e.type)).to.deep.equal(["queued", "started", "succeeded"]);
    await waitFor(async () => (await db.query("select 1 from executor.task_event_outbox where task_id = $1", [task.id])).rowCount === 0, { what: "outbox emptied" });
  });

  it("when a running task's lease expired and its message is gone, then the sweeper puts it back and it completes", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", max_attempts: 3, backoff_ms: [0] });
    const task = await submit({ agent: agent.name, input: { ms: 5 }, wait: 10 });
    // As if an executor had claimed attempt 2 and died, and its message were lost.
    await db.query(
      `update executor.tasks set status = 'running', attempts = 2, lease_owner = 'dead-executor', lease_expires_at = now() - interval '1 minute',
         result = null, finished_at = null where id = $1`,
      [task.id],
    );
    const done = await settled(task.id);
    expect(done).to.deep.include({ status: "succeeded", attempts: 3 });
    const types = (await ctx.events(task)).map((e) => e.type).filter((t) => t !== "progress");
    expect(types).to.deep.equal(["queued", "started", "succeeded", "retrying", "started", "succeeded"]);
  });

  it("when a queued task's message vanished from the stream (purged), then the sweeper publishes it again", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 1 });
    const blocker = await submit({ agent: agent.name, input: { ms: 1500 } });
    await waitFor(async () => (await get(blocker.id)).status === "running", { what: "blocker running" });
    const victim = await submit({ agent: agent.name, input: { ms: 5 } });
    const jsm = await jetstreamManager(ctx.nc);
    await waitFor(async () => (await jsm.consumers.info(Streams.tasks.name, taskConsumerName(agent.id))).num_pending === 1, { what: "victim pending" });
    await jsm.streams.purge(Streams.tasks.name, { filter: taskQueueSubject(agent.id) });
    expect((await settled(victim.id)).status).to.equal("succeeded");
    expect((await settled(blocker.id)).status).to.equal("succeeded");
  });

  it("when the queue consumer is created, then the server never runs out of deliveries and the stream never drops a backlog by age", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    await submit({ agent: agent.name, input: 1, wait: 10 });
    const jsm = await jetstreamManager(ctx.nc);
    expect((await jsm.consumers.info(Streams.tasks.name, taskConsumerName(agent.id))).config.max_deliver).to.equal(-1);
    expect((await jsm.streams.info(Streams.tasks.name)).config.max_age).to.equal(0);
  });

  it("when 100 echo tasks run, then each costs at most 3 database statements and 4 JetStream publishes (amortised)", async () => {
    // One executor, sweeping at the default pace: the count is the hot path's, plus what the sweeper costs meanwhile.
    for (const e of ctx.executors.splice(0)) await e.stop();
    await ctx.startExecutor({ RECONCILE_INTERVAL_MS: "2000" });
    const agent = await ctx.createAgent(owner, { runtime: "echo", concurrency: 8 });
    await submit({ agent: agent.name, input: 0, wait: 10 }); // consumer and caches warm
    const jsm = await jetstreamManager(ctx.nc);
    const seqs = async () => (await jsm.streams.info(Streams.tasks.name)).state.last_seq + (await jsm.streams.info(Streams.taskEvents.name)).state.last_seq;
    // Every statement the in-process executor sends (its writes are single autocommit statements, so each is a commit).
    let statements = 0;
    const kinds = new Map<string, number>();
    const original = pg.Client.prototype.query;
    const counting = function (this: pg.Client, ...args: unknown[]) {
      if (this !== db) {
        statements++;
        const text = String(typeof args[0] === "string" ? args[0] : (args[0] as { text?: string })?.text).replace(/\s+/g, " ").slice(0, 60);
        kinds.set(text, (kinds.get(text) ?? 0) + 1);
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    const n = 100;
    const finals = new Set<string>();
    const sub = ctx.nc.subscribe(`meridian.events.task.${owner.sub}.>`, {
      callback: (_e, m) => {
        const ev = m.json<TaskEvent>();
        if (FINAL.includes(ev.type)) finals.add(ev.task_id);
      },
    });
    await new Promise((r) => setTimeout(r, 500));
    const seq0 = await seqs();
    pg.Client.prototype.query = counting as typeof original;
    let tasks: TaskView[];
    try {
      tasks = await Promise.all(Array.from({ length: n }, (_, i) => submit({ agent: agent.name, input: i })));
      await waitFor(() => tasks.every((t) => finals.has(t.id)), { timeoutMs: 20_000, what: "all finished" });
      await new Promise((r) => setTimeout(r, 300)); // the batched outbox bookkeeping
    } finally {
      pg.Client.prototype.query = original;
      sub.unsubscribe();
    }
    const seq1 = await seqs();
    const perTask = statements / n;
    const publishes = (seq1 - seq0) / n;
    if (process.env.DEBUG_STATEMENTS) process.stdout.write(`${JSON.stringify(Object.fromEntries(kinds), null, 1)}\n`);
    process.stdout.write(`      ${perTask.toFixed(2)} statements (commits) and ${publishes.toFixed(2)} publishes per echo task\n`);
    expect(publishes).to.be.at.most(4);
    expect(perTask).to.be.at.most(3);
  });
});
