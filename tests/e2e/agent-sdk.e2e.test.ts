import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "chai";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Scopes, Subjects, workerSubject, type AgentView, type Principal, type TaskLogs, type TaskView } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { freePort, runScript, ServiceProcess, testInfra, uniqueName, waitFor } from "@meridian/service-kit/testing";
import { AgentError, defineAgent, runAgent, type RunningAgent } from "@meridian/agent-sdk";

/**
 * The SDK runs an agent with nothing but NATS: here on a private nats-server where the agent's user may
 * publish only on its own agent's worker subjects, while the platform (registry, executor) has a user of its own.
 */
describe("agent SDK: an agent process that needs only a scoped NATS connection", function () {
  this.timeout(90_000);
  const owner: Principal = { kind: "user", sub: randomUUID(), username: "sdk-owner", roles: ["user"], scopes: Scopes.filter((s) => s !== "admin"), sid: randomUUID() };
  let nats: ChildProcess;
  let natsUrl: string;
  let platform: NatsConnection;
  let registry: ServiceProcess;
  let executor: ServiceProcess;
  let agent: RunningAgent;
  let view: AgentView;
  let other: AgentView;
  const seen: Array<{ taskId: string; attempt: number }> = [];

  const uppercase = defineAgent<{ text?: unknown; fail?: string; ms?: number }, { text: string }>(async ({ input, taskId, attempt, progress, log, signal }) => {
    seen.push({ taskId, attempt });
    if (input.ms) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, input.ms);
        signal.addEventListener("abort", () => (clearTimeout(t), reject(new Error(String(signal.reason)))), { once: true });
      });
    }
    if (input.fail === "permanent") throw new AgentError("bad input", { retryable: false });
    if (input.fail === "transient" && attempt < 2) throw new AgentError("try again", { retryable: true });
    if (typeof input.text !== "string") throw new AgentError("input.text must be a string");
    log("uppercasing");
    progress(0.5, "half way");
    return { text: input.text.toUpperCase() };
  });

  const request = <R>(subject: string, body: unknown) => requestJson<R>(platform, subject, body, { timeoutMs: 20_000, principal: owner });
  const connections: NatsConnection[] = [];
  const agentConnection = async () => {
    const nc = await connect({ servers: natsUrl, user: "agent", pass: "agent-secret" });
    connections.push(nc);
    return nc;
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdk-nats-"));
    const port = await freePort();
    natsUrl = `nats://127.0.0.1:${port}`;
    // Created first, so the agent's id is known when the agent user's permissions are written.
    const id = randomUUID();
    writeFileSync(
      join(dir, "nats.conf"),
      `listen: 127.0.0.1:${port}
jetstream { store_dir: "${dir}" }
authorization {
  users = [
    { user: platform, password: platform-secret }
    { user: agent, password: agent-secret, permissions: { publish: { allow: ["meridian.worker.${id}.>"] }, subscribe: { allow: ["_INBOX.>"] } } }
  ]
}
`,
    );
    nats = spawn(process.env.NATS_SERVER_BIN ?? "nats-server", ["-c", join(dir, "nats.conf")], { stdio: "ignore" });
    const platformUrl = `nats://platform:platform-secret@127.0.0.1:${port}`;
    const platformCreds = { servers: natsUrl, user: "platform", pass: "platform-secret" };
    await waitFor(async () => connect(platformCreds).then((c) => c.close().then(() => true), () => false), { timeoutMs: 10_000, what: "nats-server" });
    platform = await connect(platformCreds);
    const base = { NODE_ENV: "test", NATS_URL: platformUrl, DATABASE_URL: testInfra.databaseUrl, LOG_LEVEL: "warn" };
    await runScript("services/agent-registry/dist/src/migrate.js", base);
    await runScript("services/executor/dist/src/migrate.js", base);
    registry = await new ServiceProcess("agent-registry", "services/agent-registry/dist/src/main.js", { ...base, LOG_LEVEL: "info" }).start("agent-registry service started");
    executor = await new ServiceProcess("executor", "services/executor/dist/src/main.js", {
      ...base,
      LOG_LEVEL: "info",
      ACK_WAIT_MS: "3000",
      RECONCILE_INTERVAL_MS: "300",
      EXECUTOR_ID: uniqueName("exec"),
    }).start("executor service started");
    view = await request<AgentView>(Subjects.agents.create, { name: uniqueName("sdk").toLowerCase(), runtime: "sdk", max_attempts: 3, backoff_ms: [50], timeout_ms: 2000 });
    other = await request<AgentView>(Subjects.agents.create, { name: uniqueName("sdk").toLowerCase(), runtime: "sdk" });
    // The permissions name the id chosen above; the registry chose its own, so map ours onto it with a reload.
    writeFileSync(join(dir, "nats.conf"), readFileSync(join(dir, "nats.conf"), "utf8").replace(id, view.id));
    nats.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    agent = await runAgent({ agentId: view.id, handler: uppercase, nc: await agentConnection(), concurrency: 2, onError: () => undefined });
  });

  after(async () => {
    await agent?.stop();
    for (const nc of connections) await nc.close().catch(() => undefined);
    await executor?.stop();
    await registry?.stop();
    await platform?.close();
    nats?.kill();
  });

  it("when a task is submitted to an sdk agent, then the SDK process runs it with progress and logs", async () => {
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: view.name, input: { text: "meridian" }, wait: 10 });
    expect(task).to.deep.include({ status: "succeeded", attempts: 1 });
    expect(task.result).to.deep.equal({ text: "MERIDIAN" });
    const logs = await waitFor(async () => {
      const l = await request<TaskLogs>(Subjects.tasks.logs, { id: task.id });
      return l.items.length ? l : undefined;
    });
    expect(logs.items[0]).to.deep.include({ message: "uppercasing", attempt: 1 });
  });

  it("when the handler throws a retryable AgentError, then the executor retries it", async () => {
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: view.name, input: { text: "x", fail: "transient" }, wait: 10 });
    expect(task).to.deep.include({ status: "succeeded", attempts: 2 });
  });

  it("when the handler throws a permanent AgentError, then the task fails at once", async () => {
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: view.name, input: { fail: "permanent" }, wait: 10 });
    expect(task).to.deep.include({ status: "failed", attempts: 1 });
    expect(task.error).to.deep.include({ message: "bad input", retryable: false });
  });

  it("when a running sdk task is cancelled or outlives its timeout, then the handler is aborted", async () => {
    const slow = await request<TaskView>(Subjects.tasks.submit, { agent: view.name, input: { text: "t", ms: 10_000 } });
    const done = await waitFor(async () => {
      const t = await request<TaskView>(Subjects.tasks.get, { id: slow.id });
      return ["timed_out", "dead_lettered"].includes(t.status) ? t : undefined;
    }, { timeoutMs: 15_000, what: "timeout" });
    expect(done.status).to.equal("timed_out");

    const cancelled = await request<TaskView>(Subjects.tasks.submit, { agent: view.name, input: { text: "c", ms: 1500 } });
    await waitFor(async () => (await request<TaskView>(Subjects.tasks.get, { id: cancelled.id })).status === "running", { what: "running" });
    await request(Subjects.tasks.cancel, { id: cancelled.id });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await request<TaskView>(Subjects.tasks.get, { id: cancelled.id })).status).to.equal("cancelled");
  });

  it("when the agent's NATS user tries another agent's subjects, then the server refuses it", async () => {
    const nc = await agentConnection();
    {
      const errors: unknown[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error") errors.push(s);
      })();
      const refused = await nc.request(workerSubject(other.id, "claim"), JSON.stringify({ worker_id: "intruder", wait_ms: 1000 }), { timeout: 2000 }).then(
        () => false,
        () => true,
      );
      expect(refused).to.equal(true);
      expect(await request<TaskView>(Subjects.tasks.submit, { agent: other.name, input: {} }).then((t) => t.status)).to.equal("queued");
    }
  });

  it("when the SDK process is stopped, then tasks wait in the queue until an SDK process runs again", async () => {
    await agent.stop();
    const task = await request<TaskView>(Subjects.tasks.submit, { agent: view.name, input: { text: "later" }, wait: 1 });
    expect(task.status).to.equal("queued");
    agent = await runAgent({ agentId: view.id, handler: uppercase, nc: await agentConnection(), onError: () => undefined });
    const done = await waitFor(async () => {
      const t = await request<TaskView>(Subjects.tasks.get, { id: task.id });
      return t.status === "succeeded" ? t : undefined;
    }, { timeoutMs: 15_000, what: "the queued task to run" });
    expect(done.result).to.deep.equal({ text: "LATER" });
  });
});
