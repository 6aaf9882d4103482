import { expect } from "chai";
import { Subjects, type TaskList, type TaskLogs, type TaskView } from "@meridian/contracts";
import { waitFor, refusal } from "@meridian/service-kit/testing";
import { ExecutorTestContext, user } from "./executor-context.js";

const refused = refusal;

describe("executor: tasks over NATS and the JetStream queue", function () {
  this.timeout(60_000);
  const ctx = new ExecutorTestContext();
  const owner = user();
  const admin = user(["admin"]);

  before(() => ctx.start());
  after(() => ctx.stop());

  const submit = (body: Record<string, unknown>, principal = owner, correlationId?: string) =>
    ctx.request<TaskView>(Subjects.tasks.submit, body, principal, correlationId);
  const get = (id: string, principal = owner) => ctx.request<TaskView>(Subjects.tasks.get, { id }, principal);
  const settled = (id: string, principal = owner) =>
    waitFor(async () => {
      const t = await get(id, principal);
      return ["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"].includes(t.status) ? t : undefined;
    }, { timeoutMs: 20_000, what: `task ${id} to finish` });

  it("when an echo task is submitted with wait, then it answers the result and every event in order", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    const task = await submit({ agent: agent.name, input: { text: "hi" }, wait: 10 }, owner, "corr-exec-1");
    expect(task).to.deep.include({ status: "succeeded", attempts: 1, correlation_id: "corr-exec-1" });
    expect(task.result).to.deep.equal({ text: "hi" });
    const events = await ctx.events(task);
    expect(events.map((e) => e.type)).to.deep.equal(["queued", "started", "succeeded"]);
    expect(events.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
    expect(events.every((e) => e.correlation_id === "corr-exec-1" && e.task_id === task.id)).to.equal(true);
    // The executor logs after its confirmed ack, which can come a moment after the reply.
    await waitFor(() => ctx.logs.lines.some((l) => l.correlation_id === "corr-exec-1" && l.message === "task succeeded"), { what: "the executor's log line" });
  });

  it("when a task is submitted without wait, then it is queued at once and finishes later", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep" });
    const task = await submit({ agent: agent.name, input: { ms: 200 } });
    expect(task.status).to.equal("queued");
    expect(task.links.self).to.equal(`/api/v1/tasks/${task.id}`);
    expect((await settled(task.id)).result).to.deep.include({ slept_ms: 200 });
  });

  it("when the same Idempotency-Key comes twice, then one task; with another body, a refusal", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo", visibility: "public" });
    const first = await submit({ agent: agent.name, input: { a: 1, b: 2 }, idempotency_key: "key-1" });
    const again = await submit({ agent: agent.name, input: { b: 2, a: 1 }, idempotency_key: "key-1" });
    expect(again.id).to.equal(first.id);
    const err = await refused(submit({ agent: agent.name, input: { a: 2 }, idempotency_key: "key-1" }));
    expect(err.code).to.equal("IDEMPOTENCY_KEY_REUSED");
    const other = await submit({ agent: agent.name, input: { a: 1, b: 2 }, idempotency_key: "key-1" }, user());
    expect(other.id).to.not.equal(first.id);
  });

  it("when the agent is unknown or disabled, then NOT_FOUND or AGENT_DISABLED", async () => {
    expect((await refused(submit({ agent: "no-such-agent-here" }))).code).to.equal("NOT_FOUND");
    const agent = await ctx.createAgent(owner, { runtime: "echo", enabled: false });
    expect((await refused(submit({ agent: agent.name }))).code).to.equal("AGENT_DISABLED");
  });

  it("when attempts keep failing, then retries with backoff, then dead letter; an admin can re-queue", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", max_attempts: 3, backoff_ms: [50, 100] });
    const task = await submit({ agent: agent.name, input: { ms: 5, fail: true } });
    const done = await settled(task.id);
    expect(done).to.deep.include({ status: "dead_lettered", attempts: 3 });
    expect(done.error).to.deep.include({ message: "asked to fail", retryable: true });
    const types = (await ctx.events(task)).map((e) => e.type);
    expect(types.filter((t) => t === "started")).to.have.length(3);
    expect(types.filter((t) => t === "retrying")).to.have.length(2);
    expect(types.at(-1)).to.equal("dead_lettered");

    expect((await refused(ctx.request(Subjects.tasks.requeue, { id: task.id }, owner))).code).to.equal("FORBIDDEN");
    const requeued = await ctx.request<TaskView>(Subjects.tasks.requeue, { id: task.id }, admin);
    expect(requeued).to.deep.include({ status: "queued", attempts: 0 });
    expect(await settled(task.id)).to.deep.include({ status: "dead_lettered", attempts: 3 });
  });

  it("when an http agent targets a loopback address, then the executor refuses the call and the task fails", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "http", config: { url: "http://127.0.0.1:9/hook" }, max_attempts: 3 });
    const task = await submit({ agent: agent.name, input: {}, wait: 10 });
    expect(task).to.deep.include({ status: "failed", attempts: 1 });
    expect(task.error?.message).to.match(/127\.0\.0\.1|loopback|not allowed|refused/i);
  });

  it("when an attempt fails for good, then the task fails without retrying", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", max_attempts: 5 });
    const task = await submit({ agent: agent.name, input: { ms: 5, fail: true, retryable: false } });
    expect(await settled(task.id)).to.deep.include({ status: "failed", attempts: 1 });
  });

  it("when a task outlives the agent's timeout, then it is aborted as timed_out", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", timeout_ms: 1000 });
    const task = await submit({ agent: agent.name, input: { ms: 10_000 } });
    const done = await settled(task.id);
    expect(done.status).to.equal("timed_out");
    expect(done.error).to.deep.include({ code: "TIMEOUT" });
  });

  it("when a queued and a running task are cancelled, then both end cancelled and the running one is aborted", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 1 });
    const running = await submit({ agent: agent.name, input: { ms: 10_000 } });
    await waitFor(async () => (await get(running.id)).status === "running", { what: "first task running" });
    const queued = await submit({ agent: agent.name, input: { ms: 10 } });
    expect((await ctx.request<TaskView>(Subjects.tasks.cancel, { id: queued.id }, owner)).status).to.equal("cancelled");
    const before = Date.now();
    await ctx.request(Subjects.tasks.cancel, { id: running.id }, owner);
    await waitFor(() => !ctx.recorder.started.includes(running.id) || ctx.recorder.active === 0, { what: "the running task aborted" });
    expect(Date.now() - before).to.be.below(3000);
    expect((await get(running.id)).status).to.equal("cancelled");
    expect(ctx.recorder.completed).to.not.include(running.id);
    expect(ctx.recorder.started).to.not.include(queued.id);
    expect((await refused(ctx.request(Subjects.tasks.cancel, { id: running.id }, owner))).code).to.equal("CONFLICT");
  });

  it("when another user asks for a task, then NOT_FOUND; lists show own tasks, admins see all", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    const mine = await submit({ agent: agent.name, input: 1, wait: 5 });
    const stranger = user();
    expect((await refused(get(mine.id, stranger))).code).to.equal("NOT_FOUND");
    expect((await refused(ctx.request(Subjects.tasks.cancel, { id: mine.id }, stranger))).code).to.equal("NOT_FOUND");
    const own = await ctx.request<TaskList>(Subjects.tasks.list, { agent: agent.name }, owner);
    expect(own.items.map((t) => t.id)).to.deep.equal([mine.id]);
    expect((await ctx.request<TaskList>(Subjects.tasks.list, { agent: agent.name }, stranger)).total).to.equal(0);
    expect((await ctx.request<TaskList>(Subjects.tasks.list, { agent: agent.name, status: "succeeded" }, admin)).total).to.equal(1);
    expect((await get(mine.id, admin)).id).to.equal(mine.id);
  });

  it("when an agent logs, then the lines are kept for the task", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep" });
    const task = await submit({ agent: agent.name, input: { ms: 5, log: "hello from the agent" }, wait: 10 });
    await waitFor(async () => (await ctx.request<TaskLogs>(Subjects.tasks.logs, { id: task.id }, owner)).items.length > 0, { what: "log line" });
    const logs = await ctx.request<TaskLogs>(Subjects.tasks.logs, { id: task.id }, owner);
    expect(logs.items[0]).to.deep.include({ attempt: 1, level: "info", message: "hello from the agent" });
  });

  it("when an agent's concurrency is 2, then never more than 2 run at once across three executors", async () => {
    const replicas = [await ctx.startExecutor(), await ctx.startExecutor()];
    const agent = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 2 });
    ctx.recorder.maxActive = ctx.recorder.active;
    const tasks = await Promise.all(Array.from({ length: 8 }, () => submit({ agent: agent.name, input: { ms: 300 } })));
    await Promise.all(tasks.map((t) => settled(t.id)));
    expect(ctx.recorder.maxActive).to.equal(2);
    const executors = new Set<unknown>();
    for (const t of tasks) for (const e of await ctx.events(t)) if (e.type === "started") executors.add(e.data.executor);
    expect(executors.size).to.be.at.least(2);
    for (const r of replicas) {
      await r.stop();
      ctx.executors.splice(ctx.executors.indexOf(r), 1);
    }
  });

  it("when one agent is flooded, then another agent's task still runs at once", async () => {
    const slow = await ctx.createAgent(owner, { runtime: "sleep", concurrency: 1 });
    const fast = await ctx.createAgent(owner, { runtime: "echo" });
    await Promise.all(Array.from({ length: 5 }, () => submit({ agent: slow.name, input: { ms: 1000 } })));
    const started = Date.now();
    const quick = await submit({ agent: fast.name, input: "ping", wait: 10 });
    expect(quick.status).to.equal("succeeded");
    expect(Date.now() - started).to.be.below(1500);
  });

  it("when a queue message arrives again for a finished task, then it is skipped, not run twice", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "sleep" });
    const task = await submit({ agent: agent.name, input: { ms: 5 }, wait: 10 });
    expect(task.status).to.equal("succeeded");
    const { jetstream } = await import("@meridian/service-kit");
    // Same task, same attempt, a different message id: the stream accepts it, the executor must not rerun it.
    await jetstream(ctx.nc).publish(`meridian.queue.tasks.${agent.id}`, JSON.stringify({ task_id: task.id, attempt: 1, generation: 0 }), { msgID: `dup-${task.id}` });
    await waitFor(() => ctx.logs.lines.some((l) => l.message === "skipping a message for a finished or superseded attempt" && l.task_id === task.id), { what: "skip log" });
    expect(ctx.recorder.started.filter((id) => id === task.id)).to.have.length(1);
  });
});
