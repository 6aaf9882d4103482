import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { io, type Socket } from "socket.io-client";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import {
  agentWorkerPermissions,
  natsInboxPrefix,
  Scopes,
  SocketEvents,
  Subjects,
  workerSubject,
  type Principal,
  type RelayedTaskEvent,
  type SubscribeAck,
  type TaskView,
  type WorkerCredentials,
} from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { testInfra, uniqueName, waitFor } from "@meridian/service-kit/testing";
import { agentConnectOptions, defineAgent, runAgent, type RunningAgent } from "@meridian/agent-sdk";
import { readFileSync } from "node:fs";
import { createAgentVia, http, signUp } from "../support/http.js";
import { startSecuredNats, type SecuredNats } from "../support/secure-nats.js";
import { Stack } from "../support/stack.js";
import { onServer } from "../support/database.js";

/** What an attacker would claim: an admin with every scope. */
const forgedAdmin: Principal = { kind: "user", sub: randomUUID(), username: "mallory", roles: ["admin"], scopes: [...Scopes] };

/** The request's failure, or a failure of the test when the bus answered it. */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (reply) => ({ reply }),
    (err: Error) => ({ err }),
  );
  if ("reply" in outcome) throw new Error(`expected a refusal, got a reply: ${shown(outcome.reply)}`);
  return outcome.err;
}

function shown(reply: unknown): string {
  if (reply && typeof reply === "object" && "string" in reply && typeof reply.string === "function") return String(reply.string()).slice(0, 300);
  try {
    return JSON.stringify(reply).slice(0, 300);
  } catch {
    return Object.prototype.toString.call(reply);
  }
}

/** How a subscription ended within a few seconds: the server's refusal, or "still open" when it was allowed. */
/** What the NATS server said: requestJson keeps it as the cause of its 503. */
const serverWords = (err: Error) => String((err as Error & { cause?: Error }).cause?.message ?? err.message);

async function subscriptionOutcome(sub: { closed: Promise<void | Error> }): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still open: the server allowed it"), 5000)));
  try {
    return await Promise.race([sub.closed.then((e) => String(e)), open]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * NATS as a trust boundary: the whole stack on a nats-server in operator mode, every service with the
 * credentials the contracts' permission matrix mints for it, sdk agents with credentials from the API.
 * A client that is not the gateway or realtime cannot reach a subject that trusts the principal header.
 */
describe("e2e: NATS is a trust boundary (accounts, a user per service, agent credentials)", function () {
  this.timeout(120_000);
  const database = uniqueName("meridian_natsauth").replace(/-/g, "_");
  const databaseUrl = Object.assign(new URL(testInfra.databaseUrl), { pathname: `/${database}` }).toString();
  let nats: SecuredNats;
  let stack: Stack;
  const connections: NatsConnection[] = [];
  const sockets: Socket[] = [];
  const agents: RunningAgent[] = [];
  /** A user whose tasks an attacker would like to read. */
  let victim: Awaited<ReturnType<typeof signUp>>;
  let victimTask: TaskView;

  const natsAs = async (creds: string, inboxPrefix: string) => {
    const nc = await connect({ servers: nats.server.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), inboxPrefix });
    connections.push(nc);
    return nc;
  };

  /** An sdk agent of `owner` and its worker credentials, through the gateway. */
  const sdkAgent = async (token: string) => {
    const agent = await createAgentVia<{ id: string; name: string }>(stack.gatewayUrl, token, { runtime: "sdk", timeout_ms: 5000 });
    const res = await http<WorkerCredentials>(stack.gatewayUrl, "POST", `/api/v1/agents/${agent.name}/worker-credentials`, { token });
    expect(res.status, res.text).to.equal(201);
    return { agent, credentials: res.body };
  };

  before(async () => {
    await onServer(`create database "${database}"`);
    nats = await startSecuredNats();
    stack = new Stack(nats.server.url, databaseUrl, {}, nats.serviceEnv);
    await stack.start({ agentRegistry: true, executors: 1, realtime: 1 });
    victim = await signUp(stack.gatewayUrl);
    const agent = await createAgentVia<{ name: string }>(stack.gatewayUrl, victim.token, { runtime: "echo" });
    const run = await http<TaskView>(stack.gatewayUrl, "POST", `/api/v1/agents/${agent.name}/execute`, { token: victim.token, body: { input: { secret: "victim-data" } } });
    expect(run.status, run.text).to.equal(200);
    victimTask = run.body;
  });

  after(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    for (const s of sockets) s.disconnect();
    for (const nc of connections) await nc.close().catch(() => undefined);
    await stack?.stop();
    await nats?.stop();
    await onServer(`drop database if exists "${database}" with (force)`).catch(() => undefined);
  });

  it("when the stack runs on the secured server, then sign-up, an agent, a task, its result and its live events work through the gateway", async () => {
    const user = await signUp(stack.gatewayUrl);
    const agent = await createAgentVia<{ name: string }>(stack.gatewayUrl, user.token, { runtime: "echo" });
    const socket = io(stack.gatewayUrl, { auth: { token: user.token }, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => (socket.once("connect", resolve), socket.once("connect_error", reject)));
    const events: RelayedTaskEvent[] = [];
    socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => events.push(e));

    const run = await http<TaskView>(stack.gatewayUrl, "POST", `/api/v1/agents/${agent.name}/execute`, { token: user.token, body: { input: { text: "secured" } } });
    expect(run.status, run.text).to.equal(200);
    expect(run.body).to.deep.include({ status: "succeeded" });
    const read = await http<TaskView>(stack.gatewayUrl, "GET", `/api/v1/tasks/${run.body.id}`, { token: user.token });
    expect(read.status).to.equal(200);
    expect(read.body.result).to.deep.equal({ text: "secured" });
    await waitFor(() => events.some((e) => e.task_id === run.body.id && e.type === "succeeded"), { timeoutMs: 30_000, what: "the succeeded event over Socket.IO" });
    // A socket that saw nothing live gets the task's history from the event stream (realtime's consumer on MERIDIAN_TASK_EVENTS).
    const later = io(stack.gatewayUrl, { auth: { token: user.token }, transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(later);
    await new Promise<void>((resolve, reject) => (later.once("connect", resolve), later.once("connect_error", reject)));
    const ack = (await later.timeout(10_000).emitWithAck(SocketEvents.subscribe, { taskId: run.body.id, since: 0 })) as SubscribeAck;
    expect(ack.ok && ack.replayed, JSON.stringify(ack)).to.be.greaterThan(0);
    // Deleting the account reaches the registry and the executor from auth (its agents and tasks go with it).
    const gone = await http(stack.gatewayUrl, "DELETE", "/api/v1/auth/me", { token: user.token, body: { password: user.user.password } });
    expect(gone.status, gone.text).to.be.oneOf([200, 204]);
    // Everything the services did so far (start-up, streams, KV watches, requests, replay, account removal) was within their permissions.
    expect((nats.server.log?.() ?? "").split("\n").filter((l) => /violation/i.test(l))).to.deep.equal([]);
  });

  it("when a client without credentials connects, then the server refuses it", async () => {
    const err = await refusal(connect({ servers: nats.server.url, reconnect: false }));
    expect(err.message).to.match(/Authorization Violation/i);
  });

  it("when a client with an agent's worker credentials sends meridian.tasks.list with an admin principal, then the publish is refused and no task comes back", async () => {
    const { agent, credentials } = await sdkAgent((await signUp(stack.gatewayUrl)).token);
    expect(credentials.agent_id).to.equal(agent.id);
    expect(credentials.publish).to.deep.equal(agentWorkerPermissions(agent.id).publish);
    const nc = await natsAs(credentials.creds, credentials.inbox_prefix);
    const err = await refusal(requestJson(nc, Subjects.tasks.list, {}, { timeoutMs: 5000, principal: forgedAdmin }));
    expect(serverWords(err)).to.match(/Permissions Violation for Publish to "meridian\.tasks\.list"/);
    const get = await refusal(requestJson(nc, Subjects.tasks.get, { id: victimTask.id }, { timeoutMs: 5000, principal: forgedAdmin }));
    expect(serverWords(get)).to.match(/Permissions Violation/);
  });

  it("when the agent-registry's credentials publish on another service's subject, then NATS refuses it", async () => {
    const nc = await natsAs(readFileSync(nats.files.creds["agent-registry"], "utf8"), natsInboxPrefix("agent-registry"));
    const list = await refusal(requestJson(nc, Subjects.tasks.list, {}, { timeoutMs: 5000, principal: forgedAdmin }));
    expect(serverWords(list)).to.match(/Permissions Violation for Publish to "meridian\.tasks\.list"/);
    const users = await refusal(requestJson(nc, Subjects.auth.usersList, {}, { timeoutMs: 5000, principal: forgedAdmin }));
    expect(serverWords(users)).to.match(/Permissions Violation for Publish to "meridian\.auth\.users\.list"/);
  });

  it("when a service's credentials subscribe to another user's inbox, then NATS refuses the subscription", async () => {
    const nc = await natsAs(readFileSync(nats.files.creds["agent-registry"], "utf8"), natsInboxPrefix("agent-registry"));
    expect(await subscriptionOutcome(nc.subscribe(`${natsInboxPrefix("gateway")}.>`))).to.match(/Permissions Violation for Subscription/);
  });

  it("when an agent's credentials claim or complete another agent's work or read another inbox, then NATS refuses it, and its own work runs", async () => {
    const owner = await signUp(stack.gatewayUrl);
    const mine = await sdkAgent(owner.token);
    const theirs = await sdkAgent((await signUp(stack.gatewayUrl)).token);
    const nc = await natsAs(mine.credentials.creds, mine.credentials.inbox_prefix);

    const claim = await refusal(nc.request(workerSubject(theirs.agent.id, "claim"), JSON.stringify({ worker_id: "thief", wait_ms: 0 }), { timeout: 5000 }));
    expect(serverWords(claim)).to.match(/Permissions Violation for Publish/);
    const ref = { task_id: randomUUID(), attempt: 1, generation: 0, worker_id: "thief", receipt: "$JS.ACK.x" };
    const complete = await refusal(nc.request(workerSubject(theirs.agent.id, "complete"), JSON.stringify({ ...ref, result: "forged" }), { timeout: 5000 }));
    expect(serverWords(complete)).to.match(/Permissions Violation for Publish/);
    expect(await subscriptionOutcome(nc.subscribe("_INBOX.>"))).to.match(/Permissions Violation for Subscription/);

    const worker = await runAgent({
      agentId: mine.agent.id,
      servers: nats.server.url,
      credentials: mine.credentials.creds,
      handler: defineAgent<{ text: string }, { text: string }>(({ input }) => ({ text: input.text.toUpperCase() })),
      onError: () => undefined,
    });
    agents.push(worker);
    const run = await http<TaskView>(stack.gatewayUrl, "POST", `/api/v1/agents/${mine.agent.name}/execute`, { token: owner.token, body: { input: { text: "own work" } } });
    expect(run.status, run.text).to.equal(200);
    expect(run.body).to.deep.include({ status: "succeeded" });
    expect(run.body.result).to.deep.equal({ text: "OWN WORK" });
    expect(agentConnectOptions(mine.agent.id).inboxPrefix).to.equal(mine.credentials.inbox_prefix);
  });

  it("when someone other than the owner asks for an agent's worker credentials, then none are issued", async () => {
    const { agent } = await sdkAgent((await signUp(stack.gatewayUrl)).token);
    const stranger = await signUp(stack.gatewayUrl);
    const res = await http(stack.gatewayUrl, "POST", `/api/v1/agents/${agent.name}/worker-credentials`, { token: stranger.token });
    expect(res.status).to.be.oneOf([403, 404]);
    expect(res.text).not.to.include("NATS USER JWT");
  });
});
