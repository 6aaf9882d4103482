import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Scopes, Subjects, type AgentView, type Principal, type TaskLogs, type TaskView } from "@meridian/contracts";
import { loadExecutorConfig, migrate, start, type RunningExecutor } from "@meridian/executor";
import { createLogger, requestJson } from "@meridian/service-kit";
import { runScript, ServiceProcess, testInfra, uniqueName, waitFor } from "@meridian/service-kit/testing";
import { AgentError, defineAgent, runAgent, type RunningAgent } from "../src/index.js";

const env = (extra: Record<string, string> = {}) => ({
  NODE_ENV: "test",
  LOG_LEVEL: "warn",
  NATS_URL: testInfra.natsUrl,
  DATABASE_URL: testInfra.databaseUrl,
  ACK_WAIT_MS: "2000",
  RECONCILE_INTERVAL_MS: "200",
  EXECUTOR_ID: uniqueName("sdk"),
  ...extra,
});

describe("agent SDK: an agent in its own executor process", function () {
  this.timeout(60_000);
  const owner: Principal = { kind: "user", sub: randomUUID(), username: "sdk-owner", roles: ["user"], scopes: Scopes.filter((s) => s !== "admin"), sid: randomUUID() };
  let nc: NatsConnection;
  let registry: ServiceProcess;
  let executor: RunningExecutor;
  let agent: RunningAgent;
  let agentName: string;
  const seen: Array<{ taskId: string; attempt: number }> = [];

  const uppercase = defineAgent<{ text?: unknown; fail?: string }, { text: string }>(async ({ input, taskId, attempt, progress, log }) => {
    seen.push({ taskId, attempt });
    if (input.fail === "permanent") throw new AgentError("bad input", { retryable: false });
    if (input.fail === "transient" && attempt < 2) throw new AgentError("try again", { retryable: true });
    if (typeof input.text !== "string") throw new AgentError("input.text must be a string");
    log("uppercasing");
    progress(0.5, "half way");
    return { text: input.text.toUpperCase() };
  });

  const request = <R>(subject: string, body: unknown) => requestJson<R>(nc, subject, body, { timeoutMs: 20_000, principal: owner });

  before(async () => {
    const base = { NODE_ENV: "test", NATS_URL: testInfra.natsUrl, DATABASE_URL: testInfra.databaseUrl, LOG_LEVEL: "warn" };
    await runScript("services/agent-registry/dist/src/migrate.js", base);
    registry = await new ServiceProcess("agent-registry", "services/agent-registry/dist/src/main.js", { ...base, LOG_LEVEL: "info" }).start("agent-registry service started");
    await migrate(loadExecutorConfig(env()), createLogger({ service: "test", silent: true }));
    // The platform's executor: serves the API and the built-in runtimes, but has no "sdk" runtime.
    executor = await start(loadExecutorConfig(env()), { silentLogs: true });
    nc = await connect({ servers: testInfra.natsUrl });
    agentName = uniqueName("sdk").toLowerCase();
    await request<AgentView>(Subjects.agents.create, { name: agentName, runtime: "sdk", max_attempts: 3, backoff_ms: [50] });
    agent = await runAgent({ agent: agentName, handler: uppercase, env: env(), silentLogs: true });
  });

  after(async () => {
    await agent?.stop();
    await executor?.stop();
    await nc?.close();
    await registry?.stop();
  });

  it("when a task is submitted to an sdk agent, then the SDK process runs it with progress and logs", async () => {
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: agentName, input: { text: "meridian" }, wait: 10 });
    expect(task).to.deep.include({ status: "succeeded", attempts: 1 });
    expect(task.result).to.deep.equal({ text: "MERIDIAN" });
    const logs = await waitFor(async () => {
      const l = await request<TaskLogs>(Subjects.tasks.logs, { id: task.id });
      return l.items.length ? l : undefined;
    });
    expect(logs.items[0]).to.deep.include({ message: "uppercasing", attempt: 1 });
  });

  it("when the handler throws a retryable AgentError, then the executor retries it", async () => {
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: agentName, input: { text: "x", fail: "transient" }, wait: 10 });
    expect(task).to.deep.include({ status: "succeeded", attempts: 2 });
  });

  it("when the handler throws a permanent AgentError, then the task fails at once", async () => {
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: agentName, input: { fail: "permanent" }, wait: 10 });
    expect(task).to.deep.include({ status: "failed", attempts: 1 });
    expect(task.error).to.deep.include({ message: "bad input", retryable: false });
  });

  it("when the SDK process is stopped, then tasks wait in the queue until an SDK process runs again", async () => {
    await agent.stop();
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: agentName, input: { text: "later" }, wait: 1 });
    expect(task.status).to.equal("queued");
    agent = await runAgent({ agent: agentName, handler: uppercase, env: env(), silentLogs: true });
    const done = await waitFor(async () => {
      const t = await request<TaskView>(Subjects.tasks.get, { id: task.id });
      return t.status === "succeeded" ? t : undefined;
    }, { timeoutMs: 15_000, what: "the queued task to run" });
    expect(done.result).to.deep.equal({ text: "LATER" });
  });
});
