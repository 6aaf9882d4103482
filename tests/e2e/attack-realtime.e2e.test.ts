import { expect } from "chai";
import { io, type Socket } from "socket.io-client";
import {
  FinalTaskStatuses,
  SocketEvents,
  type RelayedTaskEvent,
  type SessionEndedNotice,
  type SubscribeAck,
  type SubscribeRequest,
} from "@meridian/contracts";
import { uniqueName, waitFor } from "@meridian/service-kit/testing";
import { http, newUser, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

type Refusal = Error & { data?: { code?: string } };

const isTerminal = (e: RelayedTaskEvent) => (FinalTaskStatuses as readonly string[]).includes(e.type);

/** Attacks on the realtime service and the task routes by callers holding less than they try to use. */
describe("e2e attack: realtime scopes, revocation and floods", function () {
  this.timeout(120_000);
  const stack = new Stack();
  const admin = newUser();
  const sockets: Socket[] = [];
  let adminToken: string;
  const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stack.gatewayUrl, method, path, options);

  before(async () => {
    await stack.start({ agentRegistry: true, executors: 1, realtime: 1, admin, gatewayEnv: { API_KEY_CACHE_MS: "60000" } });
    const login = await call("POST", "/api/v1/auth/login", { body: { username: admin.username, password: admin.password } });
    expect(login.status).to.equal(200);
    adminToken = login.body.access_token as string;
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await stack.stop();
  });

  function connect(auth: Record<string, unknown>, url = stack.gatewayUrl): Promise<Socket> {
    const socket = io(url, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", (err) => reject(err));
    });
  }

  function record(socket: Socket) {
    const events: RelayedTaskEvent[] = [];
    const ended: SessionEndedNotice[] = [];
    const disconnected: number[] = [];
    socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => events.push(e));
    socket.on(SocketEvents.sessionEnded, (n: SessionEndedNotice) => ended.push(n));
    socket.on("disconnect", () => disconnected.push(Date.now()));
    return { events, ended, disconnected };
  }

  const subscribe = (socket: Socket, request: SubscribeRequest, timeoutMs = 10_000): Promise<SubscribeAck> =>
    socket.timeout(timeoutMs).emitWithAck(SocketEvents.subscribe, request) as Promise<SubscribeAck>;

  async function apiKey(token: string, scopes: string[]): Promise<{ id: string; key: string }> {
    const res = await call("POST", "/api/v1/auth/api-keys", { token, body: { name: uniqueName("k"), scopes } });
    expect(res.status, res.text).to.equal(201);
    return { id: res.body.id as string, key: res.body.key as string };
  }

  async function sleepAgent(token: string): Promise<string> {
    const res = await call("POST", "/api/v1/agents", { token, body: { name: uniqueName("atk").toLowerCase(), runtime: "sleep" } });
    expect(res.status, res.text).to.equal(201);
    return res.body.name as string;
  }

  async function submit(token: string, agent: string, ms = 100): Promise<string> {
    const res = await call("POST", "/api/v1/tasks", { token, body: { agent, input: { ms } } });
    expect(res.status, res.text).to.equal(202);
    return res.body.id as string;
  }

  const finished = (events: RelayedTaskEvent[], id: string) =>
    waitFor(() => events.some((e) => e.task_id === id && isTerminal(e)), { timeoutMs: 20_000, what: `the terminal event of ${id}` });

  async function finishedTask(token: string): Promise<{ agent: string; id: string }> {
    const agent = await sleepAgent(token);
    const id = await submit(token, agent, 50);
    await waitFor(async () => FinalTaskStatuses.includes((await call("GET", `/api/v1/tasks/${id}`, { token })).body.status as never), {
      timeoutMs: 20_000,
      what: "the task to finish",
    });
    return { agent, id };
  }

  describe("scopes decide what a socket carries", () => {
    it("when an admin's profile:read API key asks for an agent room, then it is refused and gets none of its events", async () => {
      const victim = await signUp(stack.gatewayUrl);
      const agent = await sleepAgent(victim.token);
      const key = await apiKey(adminToken, ["profile:read"]);
      const socket = await connect({ apiKey: key.key });
      const seen = record(socket);
      const ack = await subscribe(socket, { agent });
      expect(ack).to.deep.include({ ok: false });
      expect((ack as { error: { code: string } }).error.code).to.equal("FORBIDDEN");

      const control = await connect({ token: victim.token });
      const controlSeen = record(control);
      const id = await submit(victim.token, agent);
      await finished(controlSeen.events, id);
      expect(seen.events.filter((e) => e.task_id === id)).to.deep.equal([]);
    });

    it("when an admin's tasks:read key without the admin scope asks for an agent room, then it is refused", async () => {
      const key = await apiKey(adminToken, ["tasks:read"]);
      const socket = await connect({ apiKey: key.key });
      const ack = await subscribe(socket, { agent: await sleepAgent(adminToken) });
      expect((ack as { error?: { code: string } }).error?.code).to.equal("FORBIDDEN");
    });

    it("when a profile:read key's owner runs a task, then the key's socket gets none of its events and may not subscribe to it", async () => {
      const owner = await signUp(stack.gatewayUrl);
      const key = await apiKey(owner.token, ["profile:read"]);
      const socket = await connect({ apiKey: key.key });
      const seen = record(socket);
      const control = await connect({ token: owner.token });
      const controlSeen = record(control);
      const id = await submit(owner.token, await sleepAgent(owner.token));
      const ack = await subscribe(socket, { taskId: id, since: 0 });
      expect((ack as { error?: { code: string } }).error?.code).to.equal("FORBIDDEN");
      await finished(controlSeen.events, id);
      expect(seen.events.filter((e) => e.task_id === id)).to.deep.equal([]);
    });

    it("when a tasks:read key's owner runs a task, then the key's socket gets its events", async () => {
      const owner = await signUp(stack.gatewayUrl);
      const key = await apiKey(owner.token, ["tasks:read"]);
      const seen = record(await connect({ apiKey: key.key }));
      const id = await submit(owner.token, await sleepAgent(owner.token));
      await finished(seen.events, id);
    });

    it("when an admin's API key without the admin scope re-queues, lists or cancels another user's tasks, then it may not", async () => {
      const victim = await signUp(stack.gatewayUrl);
      const done = await finishedTask(victim.token);
      const running = await submit(victim.token, done.agent, 20_000);

      const profileOnly = { "x-api-key": (await apiKey(adminToken, ["profile:read"])).key };
      expect((await call("POST", `/api/v1/tasks/${done.id}/requeue`, { headers: profileOnly })).status).to.equal(403);

      const tasksOnly = { "x-api-key": (await apiKey(adminToken, ["tasks:read", "tasks:write"])).key };
      const list = await call("GET", "/api/v1/tasks?limit=100", { headers: tasksOnly });
      expect(list.status).to.equal(200);
      expect((list.body.items as Array<{ owner_id: string }>).filter((t) => t.owner_id === victim.id)).to.deep.equal([]);
      expect((await call("POST", `/api/v1/tasks/${running}/requeue`, { headers: tasksOnly })).status).to.equal(403);
      expect([403, 404]).to.include((await call("POST", `/api/v1/tasks/${running}/cancel`, { headers: tasksOnly })).status);
      expect((await call("GET", `/api/v1/tasks/${running}`, { token: victim.token })).body.status).to.not.equal("cancelled");

      const withAdmin = { "x-api-key": (await apiKey(adminToken, ["admin", "tasks:read", "tasks:write"])).key };
      expect((await call("POST", `/api/v1/tasks/${running}/cancel`, { headers: withAdmin })).status).to.equal(200);
    });
  });

  describe("revocation reaches open sockets", () => {
    it("when an API key is revoked, then its socket is disconnected within a second", async () => {
      const owner = await signUp(stack.gatewayUrl);
      const key = await apiKey(owner.token, ["tasks:read"]);
      const socket = await connect({ apiKey: key.key });
      const seen = record(socket);
      const revoked = await call("DELETE", `/api/v1/auth/api-keys/${key.id}`, { token: owner.token });
      expect(revoked.status).to.equal(200);
      const at = Date.now();
      await waitFor(() => seen.disconnected.length > 0, { timeoutMs: 5000, what: "the key's socket to be disconnected" });
      expect(seen.disconnected[0]! - at).to.be.at.most(1000);
      expect(seen.ended).to.deep.equal([{ reason: "session_revoked" }]);

      const again = await connect({ apiKey: key.key }).then(
        () => new Error("accepted") as Refusal,
        (err: Refusal) => err,
      );
      expect(again.data?.code).to.be.oneOf(["INVALID_TOKEN", "TOKEN_REVOKED"]);
    });

    it("when an admin disables a user, then the user's token and API-key sockets are disconnected within a second", async () => {
      const victim = await signUp(stack.gatewayUrl);
      const key = await apiKey(victim.token, ["tasks:read"]);
      const byToken = record(await connect({ token: victim.token }));
      const byKey = record(await connect({ apiKey: key.key }));
      const disabled = await call("PATCH", `/api/v1/users/${victim.id}`, { token: adminToken, body: { disabled: true } });
      expect(disabled.status, disabled.text).to.equal(200);
      const at = Date.now();
      await waitFor(() => byToken.disconnected.length > 0 && byKey.disconnected.length > 0, { timeoutMs: 5000, what: "both sockets to be disconnected" });
      expect(byToken.disconnected[0]! - at).to.be.at.most(1000);
      expect(byKey.disconnected[0]! - at).to.be.at.most(1000);
    });

    it("when an admin deletes a user, then the user's token and API-key sockets are disconnected within a second of the answer", async () => {
      const victim = await signUp(stack.gatewayUrl);
      const key = await apiKey(victim.token, ["tasks:read"]);
      const byToken = record(await connect({ token: victim.token }));
      const byKey = record(await connect({ apiKey: key.key }));
      const deleted = await call("DELETE", `/api/v1/users/${victim.id}`, { token: adminToken });
      expect(deleted.status, deleted.text).to.equal(200);
      const at = Date.now();
      await waitFor(() => byToken.disconnected.length > 0 && byKey.disconnected.length > 0, { timeoutMs: 5000, what: "both sockets to be disconnected" });
      expect(byToken.disconnected[0]! - at).to.be.at.most(1000);
      expect(byKey.disconnected[0]! - at).to.be.at.most(1000);
    });

    it("when a session logs out, then its socket is disconnected within a second", async () => {
      const me = await signUp(stack.gatewayUrl);
      const seen = record(await connect({ token: me.token }));
      expect((await call("POST", "/api/v1/auth/logout", { token: me.token })).status).to.equal(200);
      const at = Date.now();
      await waitFor(() => seen.disconnected.length > 0, { timeoutMs: 5000, what: "the socket to be disconnected" });
      expect(seen.disconnected[0]! - at).to.be.at.most(1000);
    });
  });

  describe("the realtime service's own HTTP surface", () => {
    it("when realtime answers HTTP directly, then it carries the gateway's security headers", async () => {
      const direct = await http(stack.realtimes[0]!.url, "GET", "/health");
      const viaGateway = await call("GET", "/health/live");
      for (const header of ["x-content-type-options", "x-frame-options", "referrer-policy", "cross-origin-opener-policy", "permissions-policy"]) {
        expect(viaGateway.headers.get(header), `gateway ${header}`).to.be.a("string");
        expect(direct.headers.get(header), `realtime ${header}`).to.equal(viaGateway.headers.get(header));
      }
      expect(direct.headers.get("content-security-policy")).to.contain("frame-ancestors 'none'");
      expect(direct.headers.get("x-powered-by")).to.equal(null);
    });
  });

  describe("one socket flooding subscribes", () => {
    it("when a socket follows as many tasks as SOCKET_MAX_SUBSCRIPTIONS allows, then one more is refused until it leaves one", async () => {
      const capped = await stack.startRealtime({ SOCKET_MAX_SUBSCRIPTIONS: "2" });
      const owner = await signUp(stack.gatewayUrl);
      const agent = await sleepAgent(owner.token);
      const [first, second, third] = [await submit(owner.token, agent), await submit(owner.token, agent), await submit(owner.token, agent)];
      const socket = await connect({ token: owner.token }, capped.url);
      expect(await subscribe(socket, { taskId: first! })).to.deep.include({ ok: true });
      expect(await subscribe(socket, { taskId: second! })).to.deep.include({ ok: true });
      expect(await subscribe(socket, { taskId: first!, since: 0 })).to.deep.include({ ok: true });
      const refused = await subscribe(socket, { taskId: third! });
      expect((refused as { error?: { code: string } }).error?.code).to.equal("RATE_LIMITED");
      expect(await socket.timeout(5000).emitWithAck(SocketEvents.unsubscribe, { taskId: first! })).to.deep.include({ ok: true });
      expect(await subscribe(socket, { taskId: third! })).to.deep.include({ ok: true });
    });

    it("when one socket fires 1,500 subscribes with since, then it is refused and cut off, the stack stays ready and other sockets keep their events", async () => {
      const attacker = await signUp(stack.gatewayUrl);
      const target = await finishedTask(attacker.token);
      const bystander = await signUp(stack.gatewayUrl);
      const bystanderAgent = await sleepAgent(bystander.token);
      const watching = record(await connect({ token: bystander.token }));

      const notReady: number[] = [];
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const ready = await call("GET", "/health/ready");
          if (ready.status !== 200) notReady.push(ready.status);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      const flooder = await connect({ token: attacker.token });
      const flood = record(flooder);
      const acks = await Promise.all(
        Array.from({ length: 1500 }, () => subscribe(flooder, { taskId: target.id, since: 0 }, 30_000).catch(() => ({ ok: false, error: { code: "NO_ACK", message: "" } }) as SubscribeAck)),
      );
      const started = Date.now();
      const id = await submit(bystander.token, bystanderAgent, 50);
      await finished(watching.events, id);
      const bystanderLatency = Date.now() - started;
      probing = false;
      await probe;

      const codes = acks.map((a) => (a.ok ? "OK" : a.error.code));
      const accepted = codes.filter((c) => c === "OK").length;
      expect(accepted, "subscribes accepted").to.be.at.most(100);
      expect(codes.filter((c) => c === "RATE_LIMITED").length, "subscribes refused as RATE_LIMITED").to.be.greaterThan(0);
      await waitFor(() => flood.disconnected.length > 0, { timeoutMs: 5000, what: "the flooding socket to be cut off" });
      expect(flood.ended.map((n) => n.reason)).to.deep.equal(["abuse"]);
      expect(notReady, "readiness answers other than 200 during the flood").to.deep.equal([]);
      expect(bystanderLatency, "a bystander's short task, submit to terminal event (ms)").to.be.below(15_000);
    });
  });
});
