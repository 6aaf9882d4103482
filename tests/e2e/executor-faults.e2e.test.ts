import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { isFinalStatus, type AgentView, type TaskEvent, type TaskList, type TaskView } from "@meridian/contracts";
import { startNatsServer, testInfra, uniqueName, waitFor, type NatsServerHandle } from "@meridian/service-kit/testing";
import { http, signUp, createAgentVia } from "../support/http.js";
import { runScript, type ServiceProcess } from "../support/process.js";
import { historyProblems, ownerEvents } from "../support/task-history.js";
import { baseEnv, Stack } from "../support/stack.js";
import { onServer } from "../support/database.js";


/** Fault schedules are about wall-clock time: this is the nemesis waiting, never a test waiting for a result. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Real processes on a private nats-server whose store survives restarts: executors are killed,
 * terminated and started while tasks run, and the server itself is restarted under load. The stack
 * has its own database too: executors of another stack (on another NATS) would otherwise republish
 * this one's outbox rows into their own server.
 */
describe("e2e: executor faults (private nats-server)", function () {
  this.timeout(90_000);
  const storeDir = mkdtempSync(join(tmpdir(), "meridian-faults-"));
  const database = uniqueName("meridian_faults").replace(/-/g, "_");
  const databaseUrl = Object.assign(new URL(testInfra.databaseUrl), { pathname: `/${database}` }).toString();
  let nats: NatsServerHandle;
  let stack: Stack;
  let nc: NatsConnection;
  const call = <T = Record<string, unknown>>(method: string, path: string, options?: Parameters<typeof http>[3]) =>
    http<T>(stack.gatewayUrl, method, path, options);

  before(async () => {
    await onServer(`create database "${database}"`);
    nats = await startNatsServer({ storeDir });
    stack = new Stack(nats.url, databaseUrl);
    await stack.start({ agentRegistry: true, gatewayEnv: { NATS_REQUEST_TIMEOUT_MS: "3000" } });
    await runScript("services/executor/dist/src/migrate.js", baseEnv(nats.url, databaseUrl));
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  });
  after(async () => {
    try {
      await nc?.close().catch(() => undefined);
      await stack?.stop();
    } finally {
      await nats?.stop();
      rmSync(storeDir, { recursive: true, force: true });
      await onServer(`drop database if exists "${database}" with (force)`);
    }
  });

  async function restartNats(): Promise<void> {
    await nats.stop();
    nats = await startNatsServer({ port: nats.port, storeDir });
  }

  /** Executors this test started; each test stops its own (SIGTERM; killed ones are already gone). */
  async function withExecutors<T>(n: number, env: Record<string, string>, body: (started: ServiceProcess[]) => Promise<T>): Promise<T> {
    const started: ServiceProcess[] = [];
    try {
      for (let i = 0; i < n; i++) started.push(await stack.startExecutor({ RECONCILE_INTERVAL_MS: "300", ...env }));
      return await body(started);
    } finally {
      await Promise.all(started.map((e) => e.stop()));
    }
  }

  const signedIn = () => signUp(stack.gatewayUrl);

  const createAgent = (token: string, body: Record<string, unknown>) => createAgentVia<AgentView>(stack.gatewayUrl, token, body);

  const getTask = async (token: string, id: string) => (await call<TaskView>("GET", `/api/v1/tasks/${id}`, { token })).body;
  const whenRunning = (token: string, id: string) =>
    waitFor(async () => (await getTask(token, id)).status === "running", { timeoutMs: 10_000, what: `task ${id} running` });
  const settled = (token: string, id: string, timeoutMs = 20_000) =>
    waitFor(async () => {
      const t = await getTask(token, id);
      return t && isFinalStatus(t.status) ? t : undefined;
    }, { timeoutMs, what: `task ${id} to finish` });
  const ranOn = (executors: ServiceProcess[], id: string, message = "task started") =>
    executors.filter((e) => e.lines.some((l) => l.message === message && l.task_id === id));

  const eventsOf = (ownerId: string) => ownerEvents(nc, ownerId);


  /**
   * The owner's events once every task's history is complete, or as they are at the deadline: an event a killed
   * executor numbered but never published comes from the outbox a little later.
   */
  async function historiesOf(ownerId: string, ids: string[], timeoutMs = 15_000): Promise<Map<string, TaskEvent[]>> {
    let last = new Map<string, TaskEvent[]>();
    await waitFor(async () => {
      last = await eventsOf(ownerId);
      return ids.every((id) => historyProblems(id, last.get(id) ?? []).length === 0);
    }, { timeoutMs, what: "complete task histories" }).catch(() => undefined);
    return last;
  }

  /** An executor ran the task to the end after losing it to another: its outcome was thrown away, its side effects not. */
  const secondCompletions = (ids: string[]) =>
    stack.executors.flatMap((e) =>
      e.lines.filter((l) => l.message === "outcome discarded: this attempt no longer owns the task" && ids.includes(l.task_id as string)),
    );

  /** The executors' warnings about the tasks a check failed for, to explain the failure. */
  const warningsAbout = (problems: string[]) =>
    stack.executors.flatMap((e) =>
      e.lines.filter((l) => l.level !== "info" && problems.some((p) => typeof l.task_id === "string" && p.startsWith(l.task_id))).map((l) => JSON.stringify(l)),
    );

  /** Tasks an executor started and has not finished (by its own log lines). */
  const unfinished = (e: ServiceProcess) => {
    const finished = new Set(e.lines.filter((l) => l.message === "task succeeded").map((l) => l.task_id));
    return e.lines.filter((l) => l.message === "task started" && !finished.has(l.task_id)).map((l) => l.task_id as string);
  };

  const fastRedelivery = { ACK_WAIT_MS: "2000", SHUTDOWN_GRACE_MS: "2000" };

  it("when the executor running a task is killed (SIGKILL), then another executor completes it exactly once", async () => {
    await withExecutors(2, fastRedelivery, async (executors) => {
      const { id: ownerId, token } = await signedIn();
      const agent = await createAgent(token, { runtime: "sleep" });
      const submitted = await call<TaskView>("POST", "/api/v1/tasks", { token, body: { agent: agent.name, input: { ms: 4000 } } });
      expect(submitted.status, submitted.text).to.equal(202);
      const id = submitted.body.id;
      await whenRunning(token, id);
      const [victim] = await waitFor(() => (ranOn(executors, id).length ? ranOn(executors, id) : undefined), { what: "the executor running it" });
      const survivor = executors.find((e) => e !== victim)!;
      expect(await victim!.stop("SIGKILL")).to.equal(-1);

      const done = await settled(token, id);
      expect(done).to.deep.include({ status: "succeeded", attempts: 1 });
      expect(done.result).to.deep.equal({ slept_ms: 4000 });
      await waitFor(() => ranOn([survivor], id, "task succeeded").length === 1, { what: "the survivor's 'task succeeded'" });
      const events = (await historiesOf(ownerId, [id])).get(id) ?? [];
      const types = events.map((e) => e.type);
      expect(types.filter((t) => t === "started"), types.join(",")).to.have.length(2);
      expect(types.filter((t) => t === "succeeded")).to.have.length(1);
      expect(historyProblems(id, events)).to.deep.equal([]);
      const starters = events.filter((e) => e.type === "started").map((e) => e.data.executor);
      expect(new Set(starters).size, "started on two different executors").to.equal(2);
    });
  });

  it("when an executor is terminated (SIGTERM) with a task shorter than its grace period, then the task succeeds before it exits 0", async () => {
    await withExecutors(2, { ACK_WAIT_MS: "2000", SHUTDOWN_GRACE_MS: "6000" }, async (executors) => {
      const { token } = await signedIn();
      const agent = await createAgent(token, { runtime: "sleep" });
      const { body: task } = await call<TaskView>("POST", "/api/v1/tasks", { token, body: { agent: agent.name, input: { ms: 2500 } } });
      await whenRunning(token, task.id);
      const [runner] = await waitFor(() => (ranOn(executors, task.id).length ? ranOn(executors, task.id) : undefined), { what: "the executor running it" });
      const signalledAt = Date.now();
      const code = await runner!.stop("SIGTERM");
      const exitedAt = Date.now();
      expect(code).to.equal(0);
      const done = await getTask(token, task.id);
      expect(done).to.deep.include({ status: "succeeded", attempts: 1 });
      expect(new Date(done.finished_at!).getTime()).to.be.below(exitedAt);
      expect(exitedAt - signalledAt).to.be.below(6000);
      expect(ranOn([runner!], task.id, "task succeeded")).to.have.length(1);
      expect(ranOn(executors.filter((e) => e !== runner), task.id)).to.have.length(0);
    });
  });

  it("when an executor is terminated with a task longer than its grace period, then it gives the task back and another completes it without waiting for AckWait", async () => {
    // A long AckWait: only the nak can bring the task to the other executor this soon.
    const ackWaitMs = 15_000;
    await withExecutors(2, { ACK_WAIT_MS: String(ackWaitMs), SHUTDOWN_GRACE_MS: "1000" }, async (executors) => {
      const { id: ownerId, token } = await signedIn();
      const agent = await createAgent(token, { runtime: "sleep" });
      const { body: task } = await call<TaskView>("POST", "/api/v1/tasks", { token, body: { agent: agent.name, input: { ms: 3000 } } });
      await whenRunning(token, task.id);
      const [first] = await waitFor(() => (ranOn(executors, task.id).length ? ranOn(executors, task.id) : undefined), { what: "the executor running it" });
      const other = executors.find((e) => e !== first)!;
      const signalledAt = Date.now();
      expect(await first!.stop("SIGTERM")).to.equal(0);
      expect(ranOn([first!], task.id, "task given back on shutdown")).to.have.length(1);
      await waitFor(() => ranOn([other], task.id).length > 0, { timeoutMs: ackWaitMs - 5000, what: "the other executor to start it" });
      const handedOverMs = Date.now() - signalledAt;
      const done = await settled(token, task.id);
      expect(done).to.deep.include({ status: "succeeded", attempts: 1 });
      expect(handedOverMs).to.be.below(ackWaitMs / 2);
      const events = (await historiesOf(ownerId, [task.id])).get(task.id) ?? [];
      expect(events.filter((e) => e.type === "started").map((e) => e.attempt)).to.deep.equal([1, 1]);
      expect(historyProblems(task.id, events)).to.deep.equal([]);
    });
  });

  it("when nats-server restarts in the middle of a burst of submissions, then every accepted task succeeds exactly once", async () => {
    await withExecutors(2, fastRedelivery, async () => {
      const { id: ownerId, token } = await signedIn();
      const agent = await createAgent(token, { runtime: "sleep", concurrency: 8 });
      const outcomes: Array<{ i: number; status: number; id?: string }> = [];
      const submissions: Promise<void>[] = [];
      let restart: Promise<void> | undefined;
      for (let i = 0; i < 30; i++) {
        submissions.push(
          call<TaskView>("POST", "/api/v1/tasks", { token, body: { agent: agent.name, input: { ms: 200, i } } })
            .then((res) => void outcomes.push({ i, status: res.status, ...([200, 202].includes(res.status) ? { id: res.body.id } : {}) }))
            .catch(() => void outcomes.push({ i, status: 0 })),
        );
        if (i === 10) restart = restartNats();
        await pause(60);
      }
      await Promise.all([...submissions, restart]);
      const accepted = outcomes.filter((o) => o.id).map((o) => o.id!);
      expect(accepted.length, JSON.stringify(outcomes)).to.be.greaterThan(0);
      expect(new Set(accepted).size).to.equal(accepted.length);

      for (const id of accepted) expect(await settled(token, id, 30_000)).to.deep.include({ status: "succeeded" });
      const history = await historiesOf(ownerId, accepted);
      const problems = accepted.flatMap((id) => historyProblems(id, history.get(id) ?? []));
      expect(problems, warningsAbout(problems).join("\n")).to.deep.equal([]);
      expect(secondCompletions(accepted)).to.deep.equal([]);
      const failed = outcomes.filter((o) => !o.id);
      // The outage is answered as the bus being away, never as an internal error.
      expect(failed.map((f) => f.status).filter((s) => s !== 503 && s !== 504), JSON.stringify(failed)).to.deep.equal([]);
      const all = await call<TaskList>("GET", `/api/v1/tasks?agent=${agent.name}&limit=100`, { token });
      process.stdout.write(
        `      restart burst: ${accepted.length} accepted, ${failed.length} refused (${failed.map((f) => f.status).join(",") || "-"}), ${all.body.total} tasks stored\n`,
      );
    });
  });

  it("when executors are killed and started and nats-server restarts during a burst, then the history shows every accepted task done exactly once", async () => {
    const began = Date.now();
    const stats = { accepted: 0, retried: 0, kills: 0, starts: 0, restarts: 0 };
    // The test agent: a webhook (http runtime) that applies each task's side effect once, keyed by the
    // Meridian-Task-Id header as an idempotent agent must, and records every call it gets.
    const calls: Array<{ header: string; body: string; attempt: number }> = [];
    const effects = new Map<string, number>();
    const recorder = createServer((req, res) => {
      let raw = "";
      req.on("data", (c: Buffer) => (raw += c.toString()));
      req.on("end", () => {
        const payload = JSON.parse(raw) as { task_id: string; attempt: number; input: { ms: number } };
        const header = String(req.headers["meridian-task-id"]);
        calls.push({ header, body: payload.task_id, attempt: payload.attempt });
        setTimeout(() => {
          if (!effects.has(header)) effects.set(header, calls.length);
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ applied: header }));
        }, payload.input.ms);
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", () => resolve()));
    const recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/effect`;
    const chaosEnv = { ...fastRedelivery, HTTP_ALLOW_LIST: "127.0.0.1" };
    try {
      await withExecutors(3, chaosEnv, async (initial) => {
        const live = [...initial];
        const { id: ownerId, token } = await signedIn();
        const agent = await createAgent(token, { runtime: "http", config: { url: recorderUrl }, concurrency: 8 });
        const requests = Array.from({ length: 40 }, (_, i) => ({ i, key: uniqueName(`chaos-${i}`), ms: 100 + Math.floor(Math.random() * 400) }));
        const accepted = new Map<number, string>();
        const deadline = Date.now() + 40_000;
        let over = false;

        /** One logical request: retried with the same Idempotency-Key until a 200/202 or the deadline. */
        async function submit(r: (typeof requests)[number]): Promise<void> {
          for (let attempt = 0; !over && Date.now() < deadline; attempt++) {
            if (attempt > 0) stats.retried++;
            const res = await call<TaskView>("POST", "/api/v1/tasks", {
              token,
              body: { agent: agent.name, input: { ms: r.ms, i: r.i } },
              headers: { "idempotency-key": r.key },
            }).catch(() => undefined);
            if (res && [200, 202].includes(res.status)) {
              accepted.set(r.i, res.body.id);
              return;
            }
            if (res && res.status < 500) throw new Error(`request ${r.i}: unexpected ${res.status} ${res.text}`);
            await pause(200);
          }
        }
        async function client(share: typeof requests): Promise<void> {
          for (const r of share) {
            if (over) return;
            await submit(r);
            await pause(200 + Math.floor(Math.random() * 300));
          }
        }
        async function nemesis(): Promise<void> {
          for (let round = 0; round < 4 && !over; round++) {
            await pause(600 + Math.floor(Math.random() * 600));
            // Kill in the middle of work when there is some: an executor with a task started and not finished.
            const busy = await waitFor(() => {
              const candidates = live.filter((e) => unfinished(e).length > 0);
              return candidates.length ? candidates : undefined;
            }, { timeoutMs: 1000, intervalMs: 10 }).catch(() => live);
            const victim = busy[Math.floor(Math.random() * busy.length)]!;
            live.splice(live.indexOf(victim), 1);
            await victim.stop("SIGKILL");
            stats.kills++;
            if (round === 1) {
              await restartNats();
              stats.restarts++;
              // Not needed for the executors (they wait for their peers), but the clients' gateway must answer again.
              await waitFor(async () => (await call("GET", "/health/ready")).status === 200, { timeoutMs: 15_000, what: "the stack ready again" });
            }
            const fresh = await stack.startExecutor({ RECONCILE_INTERVAL_MS: "300", ...chaosEnv });
            initial.push(fresh);
            live.push(fresh);
            stats.starts++;
          }
        }

        try {
          await Promise.all([...[0, 1, 2, 3].map((c) => client(requests.filter((r) => r.i % 4 === c))), nemesis()]);
        } finally {
          over = true;
        }
        stats.accepted = accepted.size;
        expect(accepted.size, "every logical request accepted before the deadline").to.equal(requests.length);
        const ids = [...accepted.values()];
        expect(new Set(ids).size, "one task per logical request").to.equal(ids.length);

        const views = new Map<string, TaskView>();
        for (const id of ids) views.set(id, await settled(token, id, 30_000));
        const history = await historiesOf(ownerId, ids);

        const problems: string[] = [];
        for (const [i, id] of accepted) {
          const view = views.get(id)!;
          if (view.status !== "succeeded") problems.push(`${id}: view ${view.status}`);
          if ((view.input as { i: number }).i !== i) problems.push(`${id}: input of another request`);
          problems.push(...historyProblems(id, history.get(id) ?? []));
        }
        problems.push(...secondCompletions(ids).map((l) => `${String(l.task_id)}: completed again by an executor that had lost it`));
        const stored = await call<TaskList>("GET", `/api/v1/tasks?agent=${agent.name}&limit=100`, { token });
        expect(stored.body.total, "no duplicate task from a retried submission").to.equal(requests.length);
        expect(stored.body.items.every((t) => t.status === "succeeded")).to.equal(true);
        const startsOf = (id: string) => (history.get(id) ?? []).filter((e) => e.type === "started").length;
        const rerun = ids.filter((id) => startsOf(id) > 1).length;
        // Raw calls, not deduplicated: an attempt that was never interrupted called the agent exactly once, and no
        // task called it more often than it was started; one stored outcome, one final event (historyProblems).
        const rawCalls = new Map<string, number>();
        for (const c of calls) rawCalls.set(c.header, (rawCalls.get(c.header) ?? 0) + 1);
        for (const id of ids) {
          const n = rawCalls.get(id) ?? 0;
          if (n > startsOf(id)) problems.push(`${id}: ${n} agent calls for ${startsOf(id)} started attempts`);
          if (startsOf(id) === 1 && n !== 1) problems.push(`${id}: ${n} agent calls for one uninterrupted attempt`);
          if ((views.get(id)!.result as { applied?: string } | null)?.applied !== id) problems.push(`${id}: stored outcome is not its own`);
        }
        const histogram = [...rawCalls.values()].reduce<Record<number, number>>((h, n) => ((h[n] = (h[n] ?? 0) + 1), h), {});
        // Side effects: every accepted task's effect applied exactly once; repeated calls (a killed attempt run
        // again) always carried the same task id, so the idempotent agent absorbed them.
        for (const id of ids) if (!effects.has(id)) problems.push(`${id}: side effect never applied`);
        for (const c of calls) if (c.header !== c.body || !ids.includes(c.header)) problems.push(`call for ${c.header} (body ${c.body}) is not an accepted task`);
        expect(effects.size, "one applied side effect per accepted task").to.equal(ids.length);
        process.stdout.write(
          `      chaos: ${stats.accepted} accepted, ${stats.retried} retried submissions, ${stats.kills} kills, ${stats.starts} starts, ` +
            `${stats.restarts} nats restart, ${rerun} tasks run again after a kill, ${calls.length} raw agent calls for ${effects.size} applied effects ` +
            `(tasks by raw calls: ${Object.entries(histogram).map(([n, c]) => `${c}×${n}`).join(", ")}), ` +
            `${((Date.now() - began) / 1000).toFixed(1)} s\n`,
        );
        expect(problems, warningsAbout(problems).join("\n")).to.deep.equal([]);
      });
    } finally {
      recorder.closeAllConnections();
      await new Promise((resolve) => recorder.close(resolve));
    }
  });
});
