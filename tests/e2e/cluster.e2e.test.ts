import { expect } from "chai";
import { io, type Socket } from "socket.io-client";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  Buckets,
  FinalTaskStatuses,
  SocketEvents,
  Streams,
  type AgentView,
  type RelayedTaskEvent,
  type SubscribeAck,
  type TaskEvent,
  type TaskView,
} from "@meridian/contracts";
import { startNatsCluster, testInfra, uniqueName, waitFor, type NatsClusterHandle } from "@meridian/service-kit/testing";
import { createAgentVia, http, signUp } from "../support/http.js";
import type { ServiceProcess } from "../support/process.js";
import { Stack } from "../support/stack.js";
import { historyProblems, ownerEvents } from "../support/task-history.js";
import { onServer } from "../support/database.js";

const TASKS = 150;
const USERS = 10;
const BURST_MS = 10_000;
const isTerminal = (type: string) => (FinalTaskStatuses as readonly string[]).includes(type);
/** The burst's schedule is wall-clock time: the clients pacing themselves, never a test waiting for a result. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One subscriber: a socket on one realtime replica, in its user's room, with every event in arrival order. */
interface Subscriber {
  user: number;
  replica: number;
  socket: Socket;
  events: RelayedTaskEvent[];
  disconnects: number;
  /** Tasks this subscriber resumed with `since` (their replayed events come after later live ones). */
  resumed: Set<string>;
}

/**
 * Scale-out on one machine: a 3-node JetStream cluster with every stream at 3 replicas, two of every
 * stateless service and two gateways. A burst of tasks and Socket.IO subscribers; in the middle the task
 * stream's leader node and one executor are killed.
 */
describe("e2e: scale-out on a 3-node NATS cluster", function () {
  this.timeout(120_000);
  const database = uniqueName("meridian_cluster").replace(/-/g, "_");
  const databaseUrl = Object.assign(new URL(testInfra.databaseUrl), { pathname: `/${database}` }).toString();
  let cluster: NatsClusterHandle;
  let stack: Stack;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const gateways: string[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    await onServer(`create database "${database}"`);
    cluster = await startNatsCluster(3);
    stack = new Stack(cluster.url, databaseUrl, { JETSTREAM_REPLICAS: "3", ...(process.env.CLUSTER_TEST_LOGS ? { LOG_LEVEL: "debug" } : {}) });
    await stack.start({
      agentRegistry: true,
      executors: 2,
      executorEnv: { ACK_WAIT_MS: "2000", SHUTDOWN_GRACE_MS: "2000" },
      realtime: 2,
      gatewayEnv: { NATS_REQUEST_TIMEOUT_MS: "3000" },
    });
    const second = await stack.startGateway({ REALTIME_URL: stack.realtimes[1]!.url, NATS_REQUEST_TIMEOUT_MS: "3000" });
    gateways.push(stack.gatewayUrl, second.url);
    nc = await connect({ servers: cluster.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    jsm = await jetstreamManager(nc, { timeout: 3000 });
  });
  after(async () => {
    if (process.env.CLUSTER_TEST_LOGS) {
      const { writeFileSync } = await import("node:fs");
      for (const [i, r] of (stack?.realtimes ?? []).entries()) writeFileSync(`${process.env.CLUSTER_TEST_LOGS}/realtime-${i}.log`, r.raw.join("\n"));
      for (const [i, r] of (stack?.executors ?? []).entries()) writeFileSync(`${process.env.CLUSTER_TEST_LOGS}/executor-${i}.log`, r.raw.join("\n"));
    }
    try {
      for (const s of sockets) s.disconnect();
      await nc?.close().catch(() => undefined);
      await stack?.stop();
    } finally {
      await cluster?.stop();
      await onServer(`drop database if exists "${database}" with (force)`);
    }
  });

  const historyOf = (ownerId: string) => ownerEvents(nc, ownerId);


  const unfinished = (e: ServiceProcess) => {
    const finished = new Set(e.lines.filter((l) => l.message === "task succeeded").map((l) => l.task_id));
    return e.lines.filter((l) => l.message === "task started" && !finished.has(l.task_id)).length;
  };

  function subscribe(user: number, replica: number, token: string): Promise<Subscriber> {
    const socket = io(stack.realtimes[replica]!.url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(socket);
    const sub: Subscriber = { user, replica, socket, events: [], disconnects: 0, resumed: new Set() };
    socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => sub.events.push(e));
    socket.on("disconnect", () => sub.disconnects++);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(sub));
      socket.once("connect_error", reject);
    });
  }

  it("when the task stream's leader node and an executor are killed during a burst, then every accepted task completes exactly once and every subscriber gets every event in order", async () => {
    for (const name of [Streams.tasks.name, Streams.taskEvents.name, Streams.agentEvents.name, `KV_${Buckets.revokedSessions}`]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas, name).to.equal(3);
      expect(1 + (info.cluster?.replicas?.length ?? 0), `${name} replicas`).to.equal(3);
    }

    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, u) => {
        const signed = await signUp(gateways[u % 2]!);
        const agent = await createAgentVia<AgentView>(gateways[u % 2]!, signed.token, { runtime: "sleep", concurrency: 8 });
        return { ...signed, agent: agent.name };
      }),
    );
    const subscribers = await Promise.all(users.flatMap((u, i) => [subscribe(i, 0, u.token), subscribe(i, 1, u.token)]));

    const requests = Array.from({ length: TASKS }, (_, i) => ({ i, user: i % USERS, key: uniqueName(`cluster-${i}`), ms: 100 + Math.floor(Math.random() * 200) }));
    const accepted = new Map<number, { id: string; user: number; at: number }>();
    const stats = { retried: 0, refusals: new Map<number, number>() };
    const began = Date.now();
    const deadline = began + 60_000;
    let killedAt = 0;

    async function submit(r: (typeof requests)[number]): Promise<void> {
      const { token, agent } = users[r.user]!;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        if (attempt > 0) stats.retried++;
        const res = await http<TaskView>(gateways[(r.i + attempt) % 2]!, "POST", "/api/v1/tasks", {
          token,
          body: { agent, input: { ms: r.ms, i: r.i } },
          headers: { "idempotency-key": r.key },
        }).catch(() => undefined);
        if (res && [200, 202].includes(res.status)) {
          accepted.set(r.i, { id: res.body.id, user: r.user, at: Date.now() });
          return;
        }
        if (res && res.status < 500) throw new Error(`request ${r.i}: unexpected ${res.status} ${res.text}`);
        const status = res?.status ?? 0;
        stats.refusals.set(status, (stats.refusals.get(status) ?? 0) + 1);
        await pause(200);
      }
    }

    async function nemesis(): Promise<{ node: string; newLeader: string; electedMs: number }> {
      await pause(BURST_MS / 2);
      const leader = (await jsm.streams.info(Streams.tasks.name)).cluster!.leader!;
      const busy = await waitFor(() => stack.executors.find((e) => unfinished(e) > 0), { timeoutMs: 1000, intervalMs: 10 }).catch(() => stack.executors[0]!);
      killedAt = Date.now();
      await Promise.all([cluster.node(leader).kill(), busy.stop("SIGKILL")]);
      const newLeader = await waitFor(
        async () => {
          const l = (await jsm.streams.info(Streams.tasks.name)).cluster?.leader;
          return l && l !== leader ? l : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: "a new leader of the task stream" },
      );
      const electedMs = Date.now() - killedAt;
      // The operator brings the node back once the burst is over: the checks below read the histories through
      // short-lived consumers, which a 2.9 server may place on a peer that is down until it returns.
      await pause(Math.max(0, began + BURST_MS + 2000 - Date.now()));
      await cluster.node(leader).restart();
      return { node: leader, newLeader, electedMs };
    }

    const submissions = requests.map(async (r) => {
      await pause((r.i * BURST_MS) / TASKS);
      await submit(r);
    });
    const [kill] = await Promise.all([nemesis(), ...submissions]);
    const burstSeconds = (Date.now() - began) / 1000;
    expect(accepted.size, "every logical request accepted before the deadline").to.equal(TASKS);
    const ids = [...accepted.values()].map((a) => a.id);
    expect(new Set(ids).size, "one task per logical request").to.equal(TASKS);

    const gateway = () => gateways[Math.floor(Math.random() * 2)]!;
    const views = new Map<string, TaskView>();
    await waitFor(
      async () => {
        for (const [, a] of accepted) {
          if (views.has(a.id)) continue;
          const res = await http<TaskView>(gateway(), "GET", `/api/v1/tasks/${a.id}`, { token: users[a.user]!.token });
          if (res.status === 200 && isTerminal(res.body.status)) views.set(a.id, res.body);
        }
        return views.size === TASKS;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: "every accepted task to finish" },
    );
    const doneSeconds = (Date.now() - began) / 1000;

    const problems: string[] = [];
    const histories = new Map<string, TaskEvent[]>();
    for (const [u, user] of users.entries()) {
      const mine = [...accepted.values()].filter((a) => a.user === u).map((a) => a.id);
      let history = new Map<string, TaskEvent[]>();
      // An event numbered by the killed executor reaches the stream from the outbox a little later.
      await waitFor(async () => {
        history = await historyOf(user.id);
        return mine.every((id) => historyProblems(id, history.get(id) ?? []).length === 0);
      }, { timeoutMs: 15_000, what: `complete histories of user ${u}` }).catch((err: Error) =>
        problems.push(`${err.message} (${[...history.values()].reduce((n, h) => n + h.length, 0)} events of ${history.size} tasks read)`),
      );
      for (const id of mine) {
        problems.push(...historyProblems(id, history.get(id) ?? []));
        if (views.get(id)!.status !== "succeeded") problems.push(`${id}: stored status ${views.get(id)!.status}`);
        histories.set(id, history.get(id) ?? []);
      }
    }
    expect(problems.length, problems.slice(0, 8).join("\n")).to.equal(0);

    const expected = (sub: Subscriber) => [...accepted.values()].filter((a) => a.user === sub.user).map((a) => a.id);
    const received = (sub: Subscriber, id: string) => sub.events.filter((e) => e.task_id === id).map((e) => e.seq);
    /** The seq a client has every event up to. */
    const unbroken = (seqs: number[]) => [...new Set(seqs)].sort((a, b) => a - b).findIndex((s, i) => s !== i + 1);
    const gapsOf = (sub: Subscriber) =>
      expected(sub).flatMap((id) => {
        const arrived = received(sub, id);
        const got = sub.resumed.has(id) ? [...arrived].sort((a, b) => a - b) : arrived;
        const want = histories.get(id)!.map((_, i) => i + 1);
        return JSON.stringify(got) === JSON.stringify(want) ? [] : [`user ${sub.user} replica ${sub.replica} task ${id}: got ${got.join(",")} of ${want.length}`];
      });
    const complete = (timeoutMs: number) =>
      waitFor(() => subscribers.every((sub) => gapsOf(sub).length === 0), { timeoutMs, intervalMs: 100, what: "every subscriber's events" }).catch(() => false);
    await complete(5000);
    // As a client does: a socket that lost its connection comes back and resumes with `since`; one that got a
    // task's events without the first ones (published late, after the stream's new leader was elected) asks
    // for them the same way.
    for (const sub of subscribers) {
      let socket = sub.socket;
      if (!socket.connected) {
        socket = (await subscribe(sub.user, sub.replica, users[sub.user]!.token)).socket;
        socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => sub.events.push(e));
      }
      for (const id of expected(sub)) {
        const seqs = received(sub, id);
        const since = unbroken(seqs) === -1 ? seqs.length : unbroken(seqs);
        if (sub.socket.connected && since === histories.get(id)!.length) continue;
        sub.resumed.add(id);
        const began = Date.now();
        const ack = (await socket.timeout(15_000).emitWithAck(SocketEvents.subscribe, { taskId: id, since }).catch((err: Error) => ({ ok: false, error: err.message }))) as SubscribeAck;
        const warnings = stack.realtimes[sub.replica]!.lines.filter((l) => l.level !== "info" && l.level !== "debug").map((l) => JSON.stringify(l));
        if (!ack.ok) {
          for await (const c of jsm.consumers.list(Streams.taskEvents.name)) {
            warnings.push(`${c.name}: pending ${c.num_pending}, ack pending ${c.num_ack_pending}, waiting ${c.num_waiting}, delivered ${c.delivered.stream_seq}, leader ${c.cluster?.leader}`);
          }
          const info = await jsm.streams.info(Streams.taskEvents.name);
          warnings.push(`stream: last ${info.state.last_seq}, leader ${info.cluster?.leader}, replicas ${JSON.stringify(info.cluster?.replicas)}`);
        }
        expect(ack.ok, `${JSON.stringify(ack)} after ${Date.now() - began} ms; resumed ${sub.resumed.size}, connected ${sub.socket.connected}: ${received(sub, id).join(",")}\n${warnings.slice(-8).join("\n")}`).to.equal(true);
      }
    }

    await complete(10_000);
    const gaps = subscribers.flatMap(gapsOf);
    const warnings = stack.realtimes.flatMap((r, i) => r.lines.filter((l) => l.level !== "info").map((l) => `realtime ${i}: ${JSON.stringify(l)}`));
    expect(gaps.length, [...gaps.slice(0, 10), ...warnings.slice(0, 10)].join("\n")).to.equal(0);

    const finishedAfterKill = [...views.values()].map((v) => new Date(v.finished_at!).getTime()).filter((t) => t > killedAt);
    const firstAfterKill = Math.min(...finishedAfterKill) - killedAt;
    const submittedAfterKill = [...accepted.values()].filter((a) => a.at >= killedAt);
    const roundTrips = submittedAfterKill.map((a) => new Date(views.get(a.id)!.finished_at!).getTime() - killedAt);
    const firstNewDone = roundTrips.length ? Math.min(...roundTrips) : NaN;
    const events = [...histories.values()].reduce((n, h) => n + h.length, 0);
    process.stdout.write(
      `      cluster: ${TASKS} tasks (${events} events) via 2 gateways, ${subscribers.length} sockets on 2 realtime replicas; ` +
        `${(TASKS / doneSeconds).toFixed(1)} tasks/s completed (${burstSeconds.toFixed(1)} s burst, all done at ${doneSeconds.toFixed(1)} s); ` +
        `killed leader ${kill.node} (restarted after the burst) + 1 executor: new leader ${kill.newLeader} after ${kill.electedMs} ms, first task finished ${firstAfterKill} ms after the kill, ` +
        `first task submitted after the kill finished at +${firstNewDone} ms; ${stats.retried} retried submissions ` +
        `(${[...stats.refusals].map(([s, n]) => `${n}×${s}`).join(", ") || "-"}), ${subscribers.filter((s) => s.disconnects > 0).length} sockets reconnected, ` +
        `${subscribers.reduce((n, s) => n + s.resumed.size, 0)} task subscriptions resumed with since\n`,
    );
  });
});
