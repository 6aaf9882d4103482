import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Scopes, Subjects, type AgentView, type HealthReport, type Principal, type TaskView } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { runScript, ServiceProcess, testInfra, uniqueName, waitFor } from "@meridian/service-kit/testing";
import { baseEnv } from "../support/stack.js";

/**
 * `npm start` launches every service at once (deploy/run.mjs) and stops all of them when one exits. So no
 * service may exit because a peer answers late: started together, in any order, on a database full of
 * agents and tasks, every one of them becomes ready, ten times in ten.
 */
describe("e2e: start-up in any order on a full database", function () {
  this.timeout(180_000);
  const owner: Principal = { kind: "user", sub: randomUUID(), username: uniqueName("u"), roles: ["user"], scopes: Scopes.filter((s) => s !== "admin"), sid: randomUUID() };
  const env = baseEnv();
  let nc: NatsConnection;
  let running: ServiceProcess[] = [];

  const services = () => [
    new ServiceProcess("agent-registry", "services/agent-registry/dist/src/main.js", env),
    new ServiceProcess("executor", "services/executor/dist/src/main.js", { ...env, EXECUTOR_ID: uniqueName("exec"), RECONCILE_INTERVAL_MS: "300" }),
    new ServiceProcess("executor", "services/executor/dist/src/main.js", { ...env, EXECUTOR_ID: uniqueName("exec"), RECONCILE_INTERVAL_MS: "300", CONSUME: "false" }),
  ];
  const readyMessage = (s: ServiceProcess) => (s.name === "executor" ? "executor service started" : "agent-registry service started");
  const request = <R>(subject: string, body: unknown) => requestJson<R>(nc, subject, body, { timeoutMs: 5000, principal: owner });

  before(async () => {
    await runScript("services/agent-registry/dist/src/migrate.js", env);
    await runScript("services/executor/dist/src/migrate.js", env);
    nc = await connect({ servers: testInfra.natsUrl });
    running = services();
    await Promise.all(running.map((s) => s.start(readyMessage(s))));
    // A database full of agents, each with queued tasks: what made the old executor ask the registry at start.
    const agents = await Promise.all(
      Array.from({ length: 20 }, () => request<AgentView>(Subjects.agents.create, { name: uniqueName("boot").toLowerCase(), runtime: "sleep", concurrency: 1 })),
    );
    for (const a of agents) await Promise.all([1, 2, 3].map(() => request<TaskView>(Subjects.tasks.submit, { agent: a.name, input: { ms: 50 } })));
  });

  after(async () => {
    await Promise.all(running.map((s) => s.stop("SIGKILL")));
    await nc?.close();
  });

  it("when every service is killed and started again at once, in a random order, then all become ready, ten times in ten", async () => {
    const timings: number[] = [];
    for (let round = 0; round < 10; round++) {
      await Promise.all(running.map((s) => s.stop("SIGKILL")));
      running = services().sort(() => Math.random() - 0.5);
      const began = Date.now();
      // The registry starts last at times, after the executors have begun their first sweep.
      await Promise.all(running.map(async (s, i) => {
        await new Promise((r) => setTimeout(r, i * Math.floor(Math.random() * 300)));
        await s.start(readyMessage(s), 20_000);
      }));
      const ready = await waitFor(async () => {
        const report = await requestJson<HealthReport>(nc, Subjects.executor.health, {}, { timeoutMs: 2000 }).catch(() => undefined);
        return report?.status === "ok" ? report : undefined;
      }, { timeoutMs: 20_000, what: `round ${round}: the executor ready` });
      expect(ready.status).to.equal("ok");
      timings.push(Date.now() - began);
      expect(running.map((s) => s.exitCode), `round ${round}: nobody exited`).to.deep.equal(running.map(() => null));
    }
    process.stdout.write(`      ready after ${timings.map((t) => (t / 1000).toFixed(1)).join(", ")} s\n`);
  });

  it("when the executor starts before the registry, then it reports not ready, waits, and serves once the registry answers", async () => {
    await Promise.all(running.map((s) => s.stop("SIGKILL")));
    const [registry, executor] = services();
    running = [registry!, executor!];
    await executor!.start("executor service started");
    const report = await waitFor(async () => {
      const r = await requestJson<HealthReport>(nc, Subjects.executor.health, {}, { timeoutMs: 2000 }).catch(() => undefined);
      return r?.checks.consuming?.status === "fail" ? r : undefined;
    }, { what: "not ready while the registry is away" });
    expect(report.status).to.equal("fail");
    await new Promise((r) => setTimeout(r, 1500));
    expect(executor!.exitCode).to.equal(null);
    await registry!.start("agent-registry service started");
    await waitFor(async () => (await requestJson<HealthReport>(nc, Subjects.executor.health, {}, { timeoutMs: 2000 }).catch(() => undefined))?.status === "ok", {
      timeoutMs: 20_000,
      what: "ready once the registry answers",
    });
    const agent = await request<AgentView>(Subjects.agents.create, { name: uniqueName("late").toLowerCase(), runtime: "echo" });
    expect((await request<TaskView>(Subjects.tasks.submit, { agent: agent.name, input: 1, wait: 10 })).status).to.equal("succeeded");
  });
});
