import { expect } from "chai";
import { Subjects, type TaskView } from "@meridian/contracts";
import { freePort, ServiceProcess, testInfra, waitFor } from "@meridian/service-kit/testing";
import { executorEnv, ExecutorTestContext, user } from "./executor-context.js";

/** One sample line of the Prometheus text format: name, optional {labels}, value. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:[0-9.e+-]+|NaN|\+Inf|-Inf))( -?\d+)?$/;
const COMMENT = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]*( .*)?$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      expect(line, "comment line").to.match(COMMENT);
      continue;
    }
    const m = SAMPLE.exec(line);
    expect(m, `not a Prometheus sample: ${line}`).to.not.equal(null);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m![2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return samples;
}

const valueOf = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe("executor: ops port (/healthz, /readyz, /metrics) and graceful shutdown", function () {
  this.timeout(30_000);
  const ctx = new ExecutorTestContext();
  const owner = user();
  let opsUrl: string;

  before(async () => {
    await ctx.start();
    // Only the executor under test runs tasks, so its counters account for every outcome.
    for (const e of ctx.executors.splice(0)) await e.stop();
    const running = await ctx.startExecutor({ METRICS_PORT: "0", METRICS_HOST: "127.0.0.1" });
    opsUrl = running.ops!.url!;
  });
  after(() => ctx.stop());

  it("when tasks have run, then /metrics parses as Prometheus text and the task, NATS and queue series moved", async () => {
    const agent = await ctx.createAgent(owner, { runtime: "echo" });
    const tasks = await Promise.all([1, 2, 3].map((i) => ctx.request<TaskView>(Subjects.tasks.submit, { agent: agent.name, input: { i }, wait: 10 }, owner)));
    expect(tasks.map((t) => t.status)).to.deep.equal(["succeeded", "succeeded", "succeeded"]);

    const res = await waitFor(async () => {
      const r = await get(`${opsUrl}/metrics`);
      const samples = parsePrometheus(r.body);
      return valueOf(samples, "meridian_executor_tasks_total", { agent_id: agent.id, outcome: "succeeded" }) >= 3 ? { r, samples } : undefined;
    }, { what: "outcomes counted" });
    expect(res.r.status).to.equal(200);
    expect(res.r.body).to.match(/^# HELP /m);
    const { samples } = res;
    expect(samples.every((s) => s.labels.service === "executor"), "every series has service=executor").to.equal(true);
    expect(valueOf(samples, "process_cpu_user_seconds_total")).to.be.greaterThan(0);
    expect(valueOf(samples, "meridian_nats_requests_total", { subject: Subjects.tasks.submit })).to.be.at.least(3);
    expect(valueOf(samples, "meridian_nats_request_duration_seconds_count", { subject: Subjects.tasks.submit })).to.be.at.least(3);
    expect(samples.some((s) => s.name === "meridian_executor_queue_messages")).to.equal(true);
    expect(samples.some((s) => s.name === "meridian_executor_consumer_pending" && s.labels.agent_id === agent.id)).to.equal(true);
    expect(valueOf(samples, "meridian_executor_tasks_total", { agent_id: agent.id, outcome: "succeeded" })).to.equal(3);
    expect(valueOf(samples, "meridian_executor_task_duration_seconds_count", { agent_id: agent.id, outcome: "succeeded" })).to.equal(3);
    expect(samples.some((s) => "task_id" in s.labels), "no task id label").to.equal(false);
  });

  it("when its dependencies answer, then /healthz and /readyz are 200; an unknown path is 404", async () => {
    expect((await get(`${opsUrl}/healthz`)).status).to.equal(200);
    const ready = await waitFor(async () => {
      const r = await get(`${opsUrl}/readyz`);
      return r.status === 200 ? r : undefined;
    }, { what: "ready", timeoutMs: 10_000 });
    expect(JSON.parse(ready.body)).to.deep.include({ status: "ok", failing: [] });
    expect((await get(`${opsUrl}/nope`)).status).to.equal(404);
  });

  it("when PostgreSQL does not answer, then /readyz is 503 naming the failing check while /healthz stays 200", async () => {
    const deadPort = await freePort();
    const broken = await ctx.startExecutor({ METRICS_PORT: "0", METRICS_HOST: "127.0.0.1", CONSUME: "false", DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/none` });
    const r = await get(`${broken.ops!.url!}/readyz`);
    expect(r.status).to.equal(503);
    expect(JSON.parse(r.body).failing).to.include("postgres");
    expect((await get(`${broken.ops!.url!}/healthz`)).status).to.equal(200);
  });

  it("when the process gets SIGTERM with a task running, then /readyz turns 503, the task finishes, and it exits 0", async () => {
    const port = await freePort();
    const env = { ...executorEnv({ METRICS_PORT: String(port), METRICS_HOST: "127.0.0.1", SHUTDOWN_GRACE_MS: "10000", LOG_LEVEL: "info" }), DATABASE_URL: testInfra.databaseUrl };
    const proc = await new ServiceProcess("executor", "services/executor/dist/src/main.js", env).start("executor service started");
    const ops = `http://127.0.0.1:${port}`;
    try {
      // Only the spawned executor may run the task; an API-only one answers the questions after it exits.
      for (const e of ctx.executors.splice(0)) await e.stop();
      await ctx.startExecutor({ CONSUME: "false" });
      await waitFor(async () => (await get(`${ops}/readyz`)).status === 200, { what: "process ready", timeoutMs: 10_000 });
      const agent = await ctx.createAgent(owner, { runtime: "sleep" });
      const task = await ctx.request<TaskView>(Subjects.tasks.submit, { agent: agent.name, input: { ms: 1500 } }, owner);
      await waitFor(async () => (await ctx.request<TaskView>(Subjects.tasks.get, { id: task.id }, owner)).status === "running", { what: "task running", timeoutMs: 10_000 });
      const exited = proc.stop("SIGTERM");
      await waitFor(async () => (await get(`${ops}/readyz`)).status === 503, { what: "readyz 503 after SIGTERM", intervalMs: 10 });
      expect(await exited).to.equal(0);
      expect((await ctx.request<TaskView>(Subjects.tasks.get, { id: task.id }, owner)).status).to.equal("succeeded");
      expect(proc.lines.some((l) => l.message === "stopped")).to.equal(true);
    } finally {
      await proc.stop();
    }
  });
});
