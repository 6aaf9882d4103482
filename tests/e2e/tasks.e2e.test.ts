import { expect } from "chai";
import { isFinalStatus, type AgentView, type TaskList, type TaskLogs, type TaskView } from "@meridian/contracts";
import { uniqueName, waitFor } from "@meridian/service-kit/testing";
import { http, signUp, createAgentVia } from "../support/http.js";
import { Stack } from "../support/stack.js";

interface Problem { path: string; message: string }


describe("e2e: tasks through the gateway", function () {
  this.timeout(60_000);
  const stack = new Stack();
  const call = <T = Record<string, unknown>>(method: string, path: string, options?: Parameters<typeof http>[3]) =>
    http<T>(stack.gatewayUrl, method, path, options);

  before(() => stack.start({ agentRegistry: true, executors: 1 }));
  after(() => stack.stop());

  const signedIn = () => signUp(stack.gatewayUrl);

  const createAgent = (token: string, body: Record<string, unknown>) => createAgentVia<AgentView>(stack.gatewayUrl, token, body);

  async function submit(token: string, body: Record<string, unknown>, headers: Record<string, string> = {}, query = "") {
    return call<TaskView>("POST", `/api/v1/tasks${query}`, { token, body, headers });
  }

  const getTask = (token: string, id: string) => call<TaskView>("GET", `/api/v1/tasks/${id}`, { token });
  const inStatus = (token: string, id: string, wanted: (status: TaskView["status"]) => boolean, what: string) =>
    waitFor(async () => {
      const res = await getTask(token, id);
      return wanted(res.body.status) ? res.body : undefined;
    }, { timeoutMs: 15_000, what });
  const problemPaths = (body: unknown) => ((body as { detail: Problem[] }).detail ?? []).map((p) => p.path);

  it("when a task is submitted, then 202 with status queued and its links, and it finishes later", async () => {
    const { id, token } = await signedIn();
    const agent = await createAgent(token, { runtime: "echo" });
    const res = await submit(token, { agent: agent.name, input: { text: "later" } });
    expect(res.status, res.text).to.equal(202);
    expect(res.body).to.deep.include({ agent: agent.name, owner_id: id, status: "queued", attempts: 0, result: null });
    expect(res.body.links).to.deep.equal({
      self: `/api/v1/tasks/${res.body.id}`,
      logs: `/api/v1/tasks/${res.body.id}/logs`,
      cancel: `/api/v1/tasks/${res.body.id}/cancel`,
    });
    const done = await inStatus(token, res.body.id, isFinalStatus, "the queued task to finish");
    expect(done).to.deep.include({ status: "succeeded", attempts: 1 });
    expect(done.result).to.deep.equal({ text: "later" });
  });

  it("when a task is submitted with ?wait=10, then 200 with the result", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "sleep", config: { ms: 10 } });
    const res = await submit(token, { agent: agent.name, input: { ms: 50 } }, {}, "?wait=10");
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.include({ status: "succeeded", attempts: 1, error: null });
    expect(res.body.result).to.deep.equal({ slept_ms: 50 });
    expect(res.body.finished_at).to.be.a("string");
  });

  it("when an agent is executed synchronously, then 200 with the finished task and its result", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "echo" });
    const res = await call<TaskView>("POST", `/api/v1/agents/${agent.name}/execute`, { token, body: { input: { text: "now" } } });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.include({ agent: agent.name, status: "succeeded" });
    expect(res.body.result).to.deep.equal({ text: "now" });
  });

  it("when the same Idempotency-Key comes with the same body, then the same task; with another body, 422 IDEMPOTENCY_KEY_REUSED", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "echo" });
    const key = uniqueName("idem");
    const first = await submit(token, { agent: agent.name, input: { a: 1, b: [2, 3] } }, { "idempotency-key": key });
    expect(first.status, first.text).to.equal(202);
    const again = await submit(token, { agent: agent.name, input: { b: [2, 3], a: 1 } }, { "idempotency-key": key });
    expect([200, 202]).to.include(again.status);
    expect(again.body.id).to.equal(first.body.id);
    const other = await submit(token, { agent: agent.name, input: { a: 2 } }, { "idempotency-key": key });
    expect(other.status).to.equal(422);
    expect(other.body).to.include({ error: "Unprocessable Entity", code: "IDEMPOTENCY_KEY_REUSED" });
    const listed = await call<TaskList>("GET", `/api/v1/tasks?agent=${agent.name}`, { token });
    expect(listed.body.total).to.equal(1);
  });

  it("when the owner gets a task, then 200; when another user does, then 404", async () => {
    const owner = await signedIn();
    const agent = await createAgent(owner.token, { runtime: "echo" });
    const task = await submit(owner.token, { agent: agent.name, input: "mine" }, {}, "?wait=10");
    const got = await getTask(owner.token, task.body.id);
    expect(got.status).to.equal(200);
    expect(got.body).to.deep.equal(task.body);
    const stranger = await getTask((await signedIn()).token, task.body.id);
    expect(stranger.status).to.equal(404);
    expect(stranger.body).to.include({ error: "Not Found", code: "NOT_FOUND" });
  });

  it("when tasks are listed, then filters by agent and status combine and pages come newest first with the total", async () => {
    const { token } = await signedIn();
    const echo = await createAgent(token, { runtime: "echo" });
    const other = await createAgent(token, { runtime: "echo" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit(token, { agent: echo.name, input: i }, {}, "?wait=10")).body.id);
    await submit(token, { agent: other.name, input: "x" }, {}, "?wait=10");

    const byAgent = await call<TaskList>("GET", `/api/v1/tasks?agent=${echo.name}`, { token });
    expect(byAgent.status).to.equal(200);
    expect(byAgent.body).to.deep.include({ total: 3, limit: 20, offset: 0 });
    expect(byAgent.body.items.map((t) => t.id)).to.deep.equal([...ids].reverse());

    const succeeded = await call<TaskList>("GET", `/api/v1/tasks?agent=${echo.name}&status=succeeded`, { token });
    expect(succeeded.body.total).to.equal(3);
    const queued = await call<TaskList>("GET", `/api/v1/tasks?agent=${echo.name}&status=queued`, { token });
    expect(queued.body).to.deep.include({ total: 0, items: [] });

    const first = await call<TaskList>("GET", `/api/v1/tasks?agent=${echo.name}&limit=2`, { token });
    expect(first.body).to.deep.include({ total: 3, limit: 2, offset: 0 });
    expect(first.body.items.map((t) => t.id)).to.deep.equal([ids[2], ids[1]]);
    const second = await call<TaskList>("GET", `/api/v1/tasks?agent=${echo.name}&limit=2&offset=2`, { token });
    expect(second.body).to.deep.include({ total: 3, limit: 2, offset: 2 });
    expect(second.body.items.map((t) => t.id)).to.deep.equal([ids[0]]);

    const all = await call<TaskList>("GET", "/api/v1/tasks", { token });
    expect(all.body.total).to.equal(4);
    const invalid = await call("GET", "/api/v1/tasks?status=sleeping&limit=0", { token });
    expect(invalid.status).to.equal(422);
    expect(problemPaths(invalid.body)).to.have.members(["query.status", "query.limit"]);
  });

  it("when a queued and a running task are cancelled, then 200 cancelled; a finished one is 409", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "sleep", concurrency: 1 });
    const running = await submit(token, { agent: agent.name, input: { ms: 20_000 } });
    expect(running.status).to.equal(202);
    await inStatus(token, running.body.id, (s) => s === "running", "the long task to run");
    const queued = await submit(token, { agent: agent.name, input: { ms: 10 } });
    // The agent's only slot is busy, so the second task cannot leave the queue.
    expect((await getTask(token, queued.body.id)).body.status).to.equal("queued");

    const cancelQueued = await call<TaskView>("POST", `/api/v1/tasks/${queued.body.id}/cancel`, { token });
    expect(cancelQueued.status, cancelQueued.text).to.equal(200);
    expect(cancelQueued.body).to.deep.include({ id: queued.body.id, status: "cancelled", attempts: 0 });

    const cancelRunning = await call<TaskView>("POST", `/api/v1/tasks/${running.body.id}/cancel`, { token });
    expect(cancelRunning.status, cancelRunning.text).to.equal(200);
    expect(cancelRunning.body).to.deep.include({ id: running.body.id, status: "cancelled" });
    await waitFor(
      () => stack.executors[0]!.lines.some((l) => l.task_id === running.body.id && l.message === "task cancelled" && l.was_running === true),
      { what: "the executor to log the running task's cancel" },
    );

    const finished = await submit(token, { agent: agent.name, input: { ms: 10 } }, {}, "?wait=10");
    expect(finished.body.status).to.equal("succeeded");
    const late = await call("POST", `/api/v1/tasks/${finished.body.id}/cancel`, { token });
    expect(late.status).to.equal(409);
    expect(late.body).to.include({ error: "Conflict", code: "CONFLICT" });
    expect((await call("POST", `/api/v1/tasks/${running.body.id}/cancel`, { token })).status).to.equal(409);
    expect((await getTask(token, running.body.id)).body.status).to.equal("cancelled");
    expect((await getTask(token, queued.body.id)).body).to.deep.include({ status: "cancelled", attempts: 0 });
  });

  it("when an agent logs while running a task, then GET /logs answers its lines; another user gets 404", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "sleep", config: { ms: 20 } });
    const task = await submit(token, { agent: agent.name, input: { ms: "soon" } }, {}, "?wait=10");
    expect(task.body.status).to.equal("succeeded");
    const logs = await waitFor(async () => {
      const res = await call<TaskLogs>("GET", `/api/v1/tasks/${task.body.id}/logs`, { token });
      return res.status === 200 && res.body.items.length > 0 ? res.body : undefined;
    }, { what: "the task's log line" });
    expect(logs.task_id).to.equal(task.body.id);
    expect(logs.items[0]!).to.deep.include({ attempt: 1, level: "warn" });
    expect(logs.items[0]!.message).to.match(/^ignoring input\.ms/);
    expect((await call("GET", `/api/v1/tasks/${task.body.id}/logs`, { token: (await signedIn()).token })).status).to.equal(404);
  });

  it("when a user who is not an admin re-queues a task, then 403", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "echo" });
    const task = await submit(token, { agent: agent.name, input: 1 });
    await call("POST", `/api/v1/tasks/${task.body.id}/cancel`, { token });
    const res = await call("POST", `/api/v1/tasks/${task.body.id}/requeue`, { token });
    expect(res.status).to.equal(403);
    expect(res.body).to.include({ error: "Forbidden", code: "FORBIDDEN" });
  });

  it("when the agent name in the body is invalid, then 422 lists body.agent", async () => {
    const { token } = await signedIn();
    const res = await submit(token, { agent: "Not.A.Name", input: {} });
    expect(res.status).to.equal(422);
    expect(res.body).to.include({ error: "Unprocessable Entity", code: "VALIDATION_FAILED" });
    expect(problemPaths(res.body)).to.deep.equal(["body.agent"]);
    const missing = await submit(token, { input: {} });
    expect(problemPaths(missing.body)).to.deep.equal(["body.agent"]);
  });

  it("when a client sends X-Correlation-ID on the submit, then the task and the executor's log lines carry it", async () => {
    const { token } = await signedIn();
    const agent = await createAgent(token, { runtime: "echo" });
    const correlationId = `e2e-tasks-${Date.now()}`;
    const res = await submit(token, { agent: agent.name, input: "traced" }, { "x-correlation-id": correlationId }, "?wait=10");
    expect(res.status, res.text).to.equal(200);
    expect(res.headers.get("x-correlation-id")).to.equal(correlationId);
    expect(res.body.correlation_id).to.equal(correlationId);
    expect((await getTask(token, res.body.id)).body.correlation_id).to.equal(correlationId);
    const executor = stack.executors[0]!;
    await waitFor(() => executor.lines.some((l) => l.message === "task succeeded" && l.task_id === res.body.id), { what: "the executor's 'task succeeded'" });
    const lines = executor.lines.filter((l) => l.task_id === res.body.id);
    expect(lines.map((l) => l.message)).to.include.members(["task queued", "task started", "task succeeded"]);
    expect(lines.every((l) => l.correlation_id === correlationId), JSON.stringify(lines)).to.equal(true);
  });

  it("when an agent's concurrency is 2 and two executor processes pull, then never more than 2 run at once", async () => {
    const second = await stack.startExecutor();
    try {
      const { token } = await signedIn();
      const agent = await createAgent(token, { runtime: "sleep", concurrency: 2 });
      const submitted = await Promise.all(Array.from({ length: 8 }, () => submit(token, { agent: agent.name, input: { ms: 400 } })));
      const done = await Promise.all(submitted.map((r) => inStatus(token, r.body.id, isFinalStatus, "a concurrency-limited task")));
      expect(done.every((t) => t.status === "succeeded")).to.equal(true);
      // The most runs that overlap at any instant, from the stored start and finish times.
      const edges = done.flatMap((t) => [
        { at: Date.parse(t.started_at!), delta: 1 },
        { at: Date.parse(t.finished_at!), delta: -1 },
      ]);
      edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
      let running = 0;
      let most = 0;
      for (const e of edges) most = Math.max(most, (running += e.delta));
      expect(most).to.equal(2);
      const ranOn = (p: typeof second) => done.filter((t) => p.lines.some((l) => l.message === "task succeeded" && l.task_id === t.id)).length;
      // Executors log "task succeeded" after their confirmed ack, a moment after the stored outcome.
      await waitFor(() => ranOn(stack.executors[0]!) + ranOn(second) === 8, { what: "both executors' log lines" });
      expect(ranOn(second)).to.be.above(0);
      expect(ranOn(stack.executors[0]!)).to.be.above(0);
    } finally {
      await second.stop();
    }
  });
});
