import { createPrivateKey, randomUUID } from "node:crypto";
import { expect } from "chai";
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";
import {
  FinalTaskStatuses,
  SocketEvents,
  type RelayedTaskEvent,
  type ResyncNotice,
  type SessionEndedNotice,
  type SubscribeAck,
  type SubscribeRequest,
} from "@meridian/contracts";
import { uniqueName, waitFor } from "@meridian/service-kit/testing";
import { http, newUser, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

type Refusal = Error & { data?: { code?: string } };
type User = ReturnType<typeof newUser>;

const isTerminal = (e: RelayedTaskEvent) => (FinalTaskStatuses as readonly string[]).includes(e.type);
const ofTask = (events: RelayedTaskEvent[], id: string) => events.filter((e) => e.task_id === id);
const seqsOf = (events: RelayedTaskEvent[], id: string) => ofTask(events, id).map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe("e2e: realtime task events over Socket.IO", function () {
  this.timeout(60_000);
  const stack = new Stack();
  const admin = newUser();
  const sockets: Socket[] = [];
  const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stack.gatewayUrl, method, path, options);
  const replica = (i: number) => stack.realtimes[i]!.url;

  before(() => stack.start({ agentRegistry: true, executors: 1, realtime: 2, admin }));
  after(async () => {
    for (const s of sockets) s.disconnect();
    await stack.stop();
  });

  async function register(): Promise<User> {
    const user = newUser();
    expect((await call("POST", "/api/v1/auth/register", { body: user })).status).to.equal(201);
    return user;
  }

  async function login(user: Pick<User, "username" | "password">): Promise<string> {
    const res = await call("POST", "/api/v1/auth/login", { body: { username: user.username, password: user.password } });
    expect(res.status).to.equal(200);
    return res.body.access_token as string;
  }

  const signedIn = async () => (await signUp(stack.gatewayUrl)).token;

  /** `setup` runs before the handshake: events that arrive with the connect packet reach its listeners too. */
  function connect(url: string, auth: Record<string, unknown>, transports: string[] = ["websocket"], setup?: (socket: Socket) => void): Promise<Socket> {
    const socket = io(url, { auth, transports, reconnection: false, forceNew: true });
    sockets.push(socket);
    setup?.(socket);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", (err) => reject(err));
    });
  }

  async function refusalCode(url: string, auth: Record<string, unknown>): Promise<string | undefined> {
    const outcome = await connect(url, auth).then(
      () => new Error("the handshake was accepted") as Refusal,
      (err: Refusal) => err,
    );
    return outcome.data?.code;
  }

  function record(socket: Socket) {
    const events: RelayedTaskEvent[] = [];
    const resyncs: ResyncNotice[] = [];
    const ended: SessionEndedNotice[] = [];
    const disconnects: string[] = [];
    socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => events.push(e));
    socket.on(SocketEvents.resync, (n: ResyncNotice) => resyncs.push(n));
    socket.on(SocketEvents.sessionEnded, (n: SessionEndedNotice) => ended.push(n));
    socket.on("disconnect", (reason) => disconnects.push(reason));
    return { events, resyncs, ended, disconnects };
  }

  const subscribe = (socket: Socket, request: SubscribeRequest): Promise<SubscribeAck> =>
    socket.timeout(5000).emitWithAck(SocketEvents.subscribe, request) as Promise<SubscribeAck>;

  async function sleepAgent(token: string): Promise<string> {
    const res = await call("POST", "/api/v1/agents", { token, body: { name: uniqueName("rt"), runtime: "sleep" } });
    expect(res.status).to.equal(201);
    return res.body.name as string;
  }

  async function submit(token: string, agent: string, ms: number): Promise<string> {
    const res = await call("POST", "/api/v1/tasks", { token, body: { agent, input: { ms } } });
    expect(res.status).to.equal(202);
    return res.body.id as string;
  }

  const finished = (events: RelayedTaskEvent[], id: string, what = "the terminal event") =>
    waitFor(() => ofTask(events, id).some(isTerminal), { timeoutMs: 15_000, what });

  it("when a task runs, then its owner's socket (through the gateway) gets every event in order", async () => {
    const token = await signedIn();
    const agent = await call("POST", "/api/v1/agents", { token, body: { name: `rt-${Date.now().toString(36)}`, runtime: "sleep" } });
    expect(agent.status).to.equal(201);
    const socket = await connect(stack.gatewayUrl, { token });
    const events: RelayedTaskEvent[] = [];
    socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => events.push(e));
    const submitted = await call("POST", "/api/v1/tasks", { token, body: { agent: agent.body.name, input: { ms: 300 } }, headers: { "x-correlation-id": "rt-corr-1" } });
    expect(submitted.status).to.equal(202);
    const id = submitted.body.id as string;
    await waitFor(() => events.some((e) => e.task_id === id && e.type === "succeeded"), { timeoutMs: 15_000, what: "succeeded event" });
    const mine = events.filter((e) => e.task_id === id);
    expect(mine[0]?.type).to.equal("queued");
    expect(mine.map((e) => e.seq)).to.deep.equal(mine.map((_, i) => i + 1));
    expect(mine.every((e) => e.correlation_id === "rt-corr-1" && typeof e.stream_seq === "number")).to.equal(true);
  });

  it("when the handshake has no or a bad token, then the connection is refused with a code", async () => {
    const none = await connect(stack.gatewayUrl, {}).catch((e: Error & { data?: { code?: string } }) => e);
    expect((none as Error & { data?: { code?: string } }).data?.code).to.equal("UNAUTHENTICATED");
    const bad = await connect(stack.gatewayUrl, { token: "garbage" }).catch((e: Error & { data?: { code?: string } }) => e);
    expect((bad as Error & { data?: { code?: string } }).data?.code).to.equal("INVALID_TOKEN");
  });

  describe("handshake", () => {
    const sign = (expiresAt: number) =>
      new SignJWT({ username: "rt_expiry", roles: ["user"], scope: "tasks:read", sid: randomUUID() })
        .setProtectedHeader({ alg: "ES256", kid: stack.key.kid, typ: "at+jwt" })
        .setSubject(randomUUID())
        .setIssuer("meridian-auth")
        .setAudience("meridian-api")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 60)
        .setExpirationTime(expiresAt)
        .sign(createPrivateKey(stack.key.pem));

    it("when the token has expired, then the connection is refused with INVALID_TOKEN", async () => {
      const token = await sign(Math.floor(Date.now() / 1000) - 60);
      const err = await connect(stack.gatewayUrl, { token }).catch((e: Refusal) => e);
      expect((err as Refusal).data?.code).to.equal("INVALID_TOKEN");
      expect((err as Refusal).message).to.equal("Token has expired");
    });

    it("when the token's session was logged out, then the connection is refused with TOKEN_REVOKED", async () => {
      const token = await signedIn();
      expect((await call("POST", "/api/v1/auth/logout", { token })).status).to.equal(200);
      expect(await refusalCode(stack.gatewayUrl, { token })).to.equal("TOKEN_REVOKED");
      expect(await refusalCode(replica(1), { token })).to.equal("TOKEN_REVOKED");
    });

    it("when the client gives an API key, then it connects as the key's user and gets that user's task events", async () => {
      const token = await signedIn();
      const created = await call("POST", "/api/v1/auth/api-keys", { token, body: { name: "realtime", scopes: ["tasks:read"] } });
      expect(created.status).to.equal(201);
      const socket = await connect(stack.gatewayUrl, { apiKey: created.body.key as string });
      const { events } = record(socket);
      const id = await submit(token, await sleepAgent(token), 100);
      expect(await subscribe(socket, { taskId: id })).to.deep.equal({ ok: true, replayed: 0 });
      await finished(events, id);
      expect(await refusalCode(stack.gatewayUrl, { apiKey: "mk_not-a-key" })).to.equal("INVALID_TOKEN");
    });

    it("when a connected socket's token expires, then it gets session:ended token_expired and is disconnected", async () => {
      const socket = await connect(replica(1), { token: await sign(Math.floor(Date.now() / 1000) + 2) });
      const seen = record(socket);
      await waitFor(() => seen.disconnects.length > 0, { timeoutMs: 6000, what: "the expiry disconnect" });
      expect(seen.ended).to.deep.equal([{ reason: "token_expired" }]);
      expect(seen.disconnects).to.deep.equal(["io server disconnect"]);
    });
  });

  describe("session end", () => {
    it("when the user logs out, then its sockets on both replicas get session:ended and are disconnected, its other sessions are not", async () => {
      const user = await register();
      const token = await login(user);
      const otherSession = await login(user);
      const onA = record(await connect(replica(0), { token }));
      const onB = record(await connect(replica(1), { token }));
      const other = await connect(replica(1), { token: otherSession });
      const otherSeen = record(other);
      expect((await call("POST", "/api/v1/auth/logout", { token })).status).to.equal(200);
      await waitFor(() => onA.disconnects.length > 0 && onB.disconnects.length > 0, { timeoutMs: 5000, what: "both sockets disconnected" });
      for (const seen of [onA, onB]) {
        expect(seen.ended).to.deep.equal([{ reason: "session_revoked" }]);
        expect(seen.disconnects).to.deep.equal(["io server disconnect"]);
      }
      expect(other.connected).to.equal(true);
      expect(otherSeen.ended).to.deep.equal([]);
    });
  });

  describe("rooms", () => {
    it("when a user subscribes to another user's task, then NOT_FOUND and none of its events; the owner and an admin may", async () => {
      const ownerToken = await signedIn();
      const strangerToken = await signedIn();
      const adminToken = await login(admin);
      const agent = await sleepAgent(ownerToken);
      const owner = await connect(replica(0), { token: ownerToken });
      const stranger = await connect(replica(1), { token: strangerToken });
      const watcher = await connect(replica(1), { token: adminToken });
      const [ownerSeen, strangerSeen, adminSeen] = [record(owner), record(stranger), record(watcher)];

      const first = await submit(ownerToken, agent, 500);
      const refused = await subscribe(stranger, { taskId: first });
      expect(refused).to.deep.include({ ok: false });
      expect((refused as Extract<SubscribeAck, { ok: false }>).error.code).to.equal("NOT_FOUND");
      expect(await subscribe(stranger, { agent })).to.deep.include({ ok: false, error: { code: "FORBIDDEN", message: "Only admins (API keys: with the admin scope) may watch a whole agent" } });
      expect(await subscribe(owner, { taskId: first })).to.deep.equal({ ok: true, replayed: 0 });
      expect(await subscribe(watcher, { taskId: first })).to.deep.equal({ ok: true, replayed: 0 });
      expect(await subscribe(watcher, { agent })).to.deep.equal({ ok: true, replayed: 0 });
      expect(await subscribe(owner, { taskId: randomUUID() })).to.deep.include({ ok: false });

      const second = await submit(ownerToken, agent, 0);
      await finished(ownerSeen.events, first);
      await finished(ownerSeen.events, second);
      await finished(adminSeen.events, first, "the admin's terminal event of the task it follows");
      await finished(adminSeen.events, second, "the admin's terminal event of the agent it watches");

      expect(seqsOf(ownerSeen.events, first)).to.deep.equal(range(1, ofTask(ownerSeen.events, first).length));
      const adminFirst = seqsOf(adminSeen.events, first);
      expect(adminFirst).to.deep.equal(range(adminFirst[0]!, adminFirst[0]! + adminFirst.length - 1));
      expect(seqsOf(adminSeen.events, second)).to.deep.equal(seqsOf(ownerSeen.events, second));
      expect(strangerSeen.events).to.deep.equal([]);
    });
  });

  describe("resume with since", () => {
    it("when a client reconnects after its task finished, then since brings exactly the later events in order, and no resync", async () => {
      const token = await signedIn();
      const agent = await sleepAgent(token);
      const first = await connect(stack.gatewayUrl, { token });
      const before = record(first);
      const id = await submit(token, agent, 2000);
      await waitFor(() => ofTask(before.events, id).length >= 4, { timeoutMs: 15_000, what: "a few events" });
      first.disconnect();
      const since = Math.max(...seqsOf(before.events, id));
      expect(seqsOf(before.events, id)).to.deep.equal(range(1, since));
      expect(ofTask(before.events, id).some(isTerminal)).to.equal(false);
      await waitFor(async () => (await call("GET", `/api/v1/tasks/${id}`, { token })).body.status === "succeeded", {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: "the task to succeed",
      });

      let later!: ReturnType<typeof record>;
      const second = await connect(replica(1), { token }, ["websocket"], (socket) => (later = record(socket)));
      const ack = await subscribe(second, { taskId: id, since });
      const replayed = seqsOf(later.events, id);
      expect(ack).to.deep.equal({ ok: true, replayed: replayed.length });
      expect(replayed).to.deep.equal(range(since + 1, since + replayed.length));
      expect(ofTask(later.events, id).at(-1)?.type).to.equal("succeeded");
      expect([...seqsOf(before.events, id), ...replayed]).to.deep.equal(range(1, since + replayed.length));
      expect(replayed.length).to.be.above(5);
      expect(later.resyncs).to.deep.equal([]);
    });

    it("when live events reach a reconnected client before its subscribe, then since still brings every missed event once", async () => {
      const token = await signedIn();
      const agent = await sleepAgent(token);
      const observer = record(await connect(replica(1), { token }));
      const first = await connect(replica(0), { token });
      const before = record(first);
      const id = await submit(token, agent, 2000);
      await waitFor(() => ofTask(before.events, id).length >= 3, { timeoutMs: 15_000, what: "a few events" });
      first.disconnect();
      const since = Math.max(...seqsOf(before.events, id));
      // Replica 1 has relayed two more events, so the new socket there misses at least since+1 and since+2.
      await waitFor(() => seqsOf(observer.events, id).includes(since + 2), { timeoutMs: 5000, what: "two more events" });

      let later!: ReturnType<typeof record>;
      const second = await connect(replica(1), { token }, ["websocket"], (socket) => (later = record(socket)));
      await waitFor(() => ofTask(later.events, id).length > 0, { timeoutMs: 5000, what: "a live event before the subscribe" });
      expect(seqsOf(later.events, id)[0]).to.be.above(since + 2);
      const ack = await subscribe(second, { taskId: id, since });
      expect(ack).to.include({ ok: true });
      expect((ack as Extract<SubscribeAck, { ok: true }>).replayed).to.be.at.least(2);
      await finished(later.events, id);

      const got = seqsOf(later.events, id);
      const last = ofTask(observer.events, id).at(-1)!;
      expect([...got].sort((a, b) => a - b)).to.deep.equal(range(since + 1, last.seq));
      expect(ofTask(later.events, id).at(-1)?.type).to.equal(last.type);
      expect(later.resyncs).to.deep.equal([]);
    });
  });

  describe("replicas and transports", () => {
    it("when clients sit on different replicas, then each gets the live events of a task submitted through the gateway", async () => {
      const token = await signedIn();
      const agent = await sleepAgent(token);
      const onA = record(await connect(replica(0), { token }));
      const onB = record(await connect(replica(1), { token }));
      const id = await submit(token, agent, 200);
      await finished(onA.events, id, "replica A's terminal event");
      await finished(onB.events, id, "replica B's terminal event");
      const all = range(1, ofTask(onA.events, id).length);
      expect(seqsOf(onA.events, id)).to.deep.equal(all);
      expect(seqsOf(onB.events, id)).to.deep.equal(all);
    });

    it("when a client uses HTTP long-polling only through the gateway, then it gets the live events", async () => {
      const token = await signedIn();
      const agent = await sleepAgent(token);
      const socket = await connect(stack.gatewayUrl, { token }, ["polling"]);
      expect(socket.io.engine.transport.name).to.equal("polling");
      const { events } = record(socket);
      const id = await submit(token, agent, 200);
      expect(await subscribe(socket, { taskId: id })).to.include({ ok: true });
      await finished(events, id);
      expect(seqsOf(events, id)).to.deep.equal(range(1, ofTask(events, id).length));
      expect(socket.io.engine.transport.name).to.equal("polling");
    });
  });

  describe("fan-out", () => {
    const CLIENTS = 300;
    const BATCH = 50;

    it(`when ${CLIENTS} clients on two replicas follow one task, then every one gets its terminal event`, async () => {
      const token = await signedIn();
      const agent = await sleepAgent(token);
      const clients: Socket[] = [];
      for (let i = 0; i < CLIENTS; i += BATCH) {
        clients.push(...(await Promise.all(range(i, Math.min(i + BATCH, CLIENTS) - 1).map((n) => connect(replica(n % 2), { token })))));
      }
      const terminals: Array<{ taskId: string; at: number }> = [];
      for (const client of clients) {
        client.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => {
          if (isTerminal(e)) terminals.push({ taskId: e.task_id, at: Date.now() });
        });
      }
      const submittedAt = Date.now();
      const id = await submit(token, agent, 0);
      const done = () => terminals.filter((t) => t.taskId === id);
      await waitFor(() => done().length >= CLIENTS, { timeoutMs: 15_000, what: `${CLIENTS} terminal events` });
      const doneAt = done().map((t) => t.at);
      const slowest = Math.max(...doneAt) - submittedAt;
      process.stdout.write(`      fan-out: ${CLIENTS} clients on 2 replicas, submit → last terminal event ${slowest} ms (first ${Math.min(...doneAt) - submittedAt} ms)\n`);
      expect(doneAt).to.have.length(CLIENTS);
      expect(slowest).to.be.below(10_000);
      for (const client of clients) client.disconnect();
    });
  });

  describe("slow clients", () => {
    it("when a client stops reading, then it is dropped and the others still get every event", async () => {
      const replica = await stack.startRealtime({ SLOW_CLIENT_MAX_BUFFERED: "10" });
      const token = await signedIn();
      const agent = await sleepAgent(token);
      // A raw Engine.IO long-polling client that completes the handshake, then never polls again:
      // everything the server sends it piles up in its write buffer.
      const base = `${replica.url}/socket.io/?EIO=4&transport=polling`;
      const open = await (await fetch(base)).text();
      const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
      await fetch(`${base}&sid=${sid}`, { method: "POST", body: `40${JSON.stringify({ token })}`, headers: { "content-type": "text/plain" } });
      expect(await (await fetch(`${base}&sid=${sid}`)).text()).to.match(/^40/);

      const healthy = await connect(replica.url, { token });
      const seen = record(healthy);
      const id = await submit(token, agent, 1500);
      await finished(seen.events, id);
      const mine = ofTask(seen.events, id);
      expect(mine.map((e) => e.seq)).to.deep.equal(mine.map((_, i) => i + 1));
      await waitFor(() => replica.lines.some((l) => l.message === "slow client disconnected"), { what: "the slow client to be dropped" });
      await replica.stop();
    });
  });
});
