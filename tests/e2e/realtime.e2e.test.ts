import { expect } from "chai";
import { io, type Socket } from "socket.io-client";
import { SocketEvents, type RelayedTaskEvent } from "@meridian/contracts";
import { waitFor } from "@meridian/service-kit/testing";
import { http, newUser } from "../support/http.js";
import { Stack } from "../support/stack.js";

describe("e2e: realtime task events over Socket.IO", function () {
  this.timeout(60_000);
  const stack = new Stack();
  const sockets: Socket[] = [];
  const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stack.gatewayUrl, method, path, options);

  before(() => stack.start({ agentRegistry: true, executors: 1, realtime: 1 }));
  after(async () => {
    for (const s of sockets) s.disconnect();
    await stack.stop();
  });

  async function signedIn() {
    const user = newUser();
    await call("POST", "/api/v1/auth/register", { body: user });
    const login = await call("POST", "/api/v1/auth/login", { body: { username: user.username, password: user.password } });
    return login.body.access_token as string;
  }

  function connect(url: string, auth: Record<string, unknown>, transports: string[] = ["websocket"]): Promise<Socket> {
    const socket = io(url, { auth, transports, reconnection: false, forceNew: true });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", (err) => reject(err));
    });
  }

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
});
