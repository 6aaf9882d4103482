import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { isFinalStatus, Scopes, Streams, Subjects, type AgentView, type Principal, type TaskEvent, type TaskView } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import {
  runScript,
  ServiceProcess,
  startNatsServer,
  startPostgresServer,
  uniqueName,
  waitFor,
  type NatsServerHandle,
  type PostgresServerHandle,
} from "@meridian/service-kit/testing";
import { baseEnv } from "../support/stack.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"]);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The database goes away for 30 s while tasks are submitted and running: submissions during the outage are
 * refused (503), and every accepted task still ends exactly once (one stored final state, one final event,
 * gap-free event numbers), with nothing left queued or running.
 */
describe("e2e: PostgreSQL stopped for 30 s under load (private postgres and nats-server)", function () {
  this.timeout(180_000);
  const owner: Principal = { kind: "user", sub: randomUUID(), username: uniqueName("u"), roles: ["user"], scopes: Scopes.filter((s) => s !== "admin"), sid: randomUUID() };
  let pg: PostgresServerHandle;
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  const services: ServiceProcess[] = [];

  before(async () => {
    [pg, nats] = await Promise.all([startPostgresServer(), startNatsServer()]);
    const env = { ...baseEnv(nats.url, pg.url), NATS_REQUEST_TIMEOUT_MS: "3000" };
    await runScript("services/agent-registry/dist/src/migrate.js", env);
    await runScript("services/executor/dist/src/migrate.js", env);
    services.push(await new ServiceProcess("agent-registry", "services/agent-registry/dist/src/main.js", env).start("agent-registry service started"));
    for (let i = 0; i < 2; i++) {
      services.push(
        await new ServiceProcess("executor", "services/executor/dist/src/main.js", {
          ...env,
          EXECUTOR_ID: uniqueName("exec"),
          ACK_WAIT_MS: "3000",
          RECONCILE_INTERVAL_MS: "500",
        }).start("executor service started"),
      );
    }
    nc = await connect({ servers: nats.url });
  });

  after(async function () {
    if (this.currentTest?.state === "failed" || process.env.DEBUG_OUTAGE) for (const s of services) process.stdout.write(`${s.name}\n${s.raw.filter((l) => !l.includes('"level":"debug"')).slice(-15).join("\n")}\n`);
    await Promise.all(services.map((s) => s.stop()));
    await nc?.close();
    await nats?.stop();
    await pg?.destroy();
  });

  it("when the database stops for 30 s under load, then every accepted task ends exactly once", async () => {
    const request = <R>(subject: string, body: unknown) => requestJson<R>(nc, subject, body, { timeoutMs: 5000, principal: owner });
    const agent = await request<AgentView>(Subjects.agents.create, { name: uniqueName("pgout").toLowerCase(), runtime: "sleep", concurrency: 8, max_attempts: 10, backoff_ms: [200] });
    const accepted = new Set<string>();
    const refusals = new Map<string, number>();
    let over = false;
    const client = async () => {
      for (let i = 0; !over; i++) {
        try {
          const t = await request<TaskView>(Subjects.tasks.submit, { agent: agent.name, input: { ms: 100 + Math.floor(Math.random() * 400) } });
          accepted.add(t.id);
        } catch (err) {
          const code = (err as { code?: string }).code ?? "error";
          refusals.set(code, (refusals.get(code) ?? 0) + 1);
        }
        await pause(100);
      }
    };
    const nemesis = async () => {
      await pause(4000);
      await pg.stop();
      const acceptedBefore = accepted.size;
      await pause(30_000);
      await pg.start();
      await pause(6000);
      over = true;
      return acceptedBefore;
    };
    const began = Date.now();
    const [acceptedBeforeOutage] = await Promise.all([nemesis(), client(), client(), client()]);
    expect(accepted.size, `accepted after the outage (refused: ${JSON.stringify(Object.fromEntries(refusals))})`).to.be.greaterThan(acceptedBeforeOutage);

    const ids = [...accepted];
    const views = new Map<string, TaskView>();
    await waitFor(async () => {
      for (const id of ids) {
        if (views.has(id)) continue;
        const t = await request<TaskView>(Subjects.tasks.get, { id }).catch(() => undefined);
        if (t && isFinalStatus(t.status)) views.set(id, t);
      }
      return views.size === ids.length;
    }, { timeoutMs: 90_000, intervalMs: 500, what: "every accepted task final" });
    const recovered = Date.now() - began - 34_000;

    // Every event of the owner, from the stream: one final event per task, numbered without gaps.
    const consumer = await jetstream(nc).consumers.get(Streams.taskEvents.name, { filter_subjects: `meridian.events.task.${owner.sub}.>`, deliver_policy: DeliverPolicy.All });
    const histories = new Map<string, TaskEvent[]>();
    for (let pending = (await consumer.info()).num_pending; pending > 0; ) {
      const msg = await consumer.next({ expires: 2000 });
      if (!msg) break;
      const e = msg.json<TaskEvent>();
      histories.set(e.task_id, [...(histories.get(e.task_id) ?? []), e]);
      pending = msg.info.pending;
    }
    const problems: string[] = [];
    for (const id of ids) {
      const events = histories.get(id) ?? [];
      const seqs = [...new Set(events.map((e) => e.seq))].sort((a, b) => a - b);
      if (seqs.some((s, i) => s !== i + 1)) problems.push(`${id}: seqs ${seqs.join(",")}`);
      const terminal = new Map(events.filter((e) => TERMINAL.has(e.type)).map((e) => [e.seq, e.type]));
      if (terminal.size !== 1) problems.push(`${id}: ${terminal.size} final events`);
      if (terminal.size === 1 && [...terminal.values()][0] !== views.get(id)!.status) problems.push(`${id}: final event differs from the stored state`);
    }
    const byStatus = [...views.values()].reduce<Record<string, number>>((m, t) => ((m[t.status] = (m[t.status] ?? 0) + 1), m), {});
    process.stdout.write(
      `      outage: ${ids.length} accepted (${acceptedBeforeOutage} before the outage), refused ${JSON.stringify(Object.fromEntries(refusals))}, ` +
        `final ${JSON.stringify(byStatus)}, all final ${(recovered / 1000).toFixed(1)} s after the database came back\n`,
    );
    expect(problems).to.deep.equal([]);
    expect(byStatus.succeeded).to.equal(ids.length);
    expect(services.every((s) => s.exitCode === null), "no service exited").to.equal(true);
  });
});
