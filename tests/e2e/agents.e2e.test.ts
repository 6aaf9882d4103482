import { expect } from "chai";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { agentEventSubject, Headers, REDACTED, Streams, type AgentEvent, type AgentList, type AgentView } from "@meridian/contracts";
import { testInfra, uniqueName, waitFor } from "@meridian/service-kit/testing";
import { http, signUp, createAgentVia } from "../support/http.js";
import { Stack } from "../support/stack.js";

interface Problem { path: string; message: string }

/** A valid agent name no other test uses; the prefix decides the order in lists. */
const agentName = (prefix = "agent") => uniqueName(prefix).toLowerCase();

describe("e2e: agents through the gateway", function () {
  const stack = new Stack();
  let nc: NatsConnection;
  const call = <T = Record<string, unknown>>(method: string, path: string, options?: Parameters<typeof http>[3]) =>
    http<T>(stack.gatewayUrl, method, path, options);

  before(async () => {
    await stack.start({ agentRegistry: true });
    nc = await connect({ servers: testInfra.natsUrl });
  });
  after(async () => {
    await nc?.close();
    await stack.stop();
  });

  const signedIn = () => signUp(stack.gatewayUrl);

  const createAgent = (token: string, body: Record<string, unknown>) => createAgentVia<AgentView>(stack.gatewayUrl, token, body);

  const problemPaths = (body: unknown) => ((body as { detail: Problem[] }).detail ?? []).map((p) => p.path);

  it("when the registry runs, then the gateway's readiness asks it", async () => {
    const ready = await call("GET", "/health/ready");
    expect(ready.status).to.equal(200);
    expect((ready.body.checks as Record<string, { status: string }>)["service:agent-registry"]).to.deep.equal({ status: "ok" });
  });

  describe("create", () => {
    it("when a user creates an agent with only name and runtime, then 201 with the defaults, owned by the user at version 1", async () => {
      const { id, username, token } = await signedIn();
      const name = agentName();
      const res = await call<AgentView>("POST", "/api/v1/agents", { token, body: { name, runtime: "echo" } });
      expect(res.status).to.equal(201);
      expect(res.body).to.deep.include({
        name,
        description: null,
        runtime: "echo",
        config: {},
        timeout_ms: 300_000,
        max_attempts: 3,
        backoff_ms: [1000, 5000, 30_000],
        concurrency: 4,
        enabled: true,
        visibility: "private",
        owner_id: id,
        owner_username: username,
        version: 1,
      });
      expect(res.body.id).to.match(/^[0-9a-f-]{36}$/);
    });

    it("when the name is not a subject token, then 422 names body.name, or params.name in the path", async () => {
      const { token } = await signedIn();
      const created = await call("POST", "/api/v1/agents", { token, body: { name: "Bad.Name", runtime: "echo" } });
      expect(created.status).to.equal(422);
      expect(created.body).to.include({ error: "Unprocessable Entity", code: "VALIDATION_FAILED" });
      expect(problemPaths(created.body)).to.deep.equal(["body.name"]);
      for (const [method, body] of [["GET"], ["PATCH", { enabled: false }], ["DELETE"]] as const) {
        const res = await call(method, "/api/v1/agents/Bad_Name", { token, ...(body ? { body } : {}) });
        expect(res.status, method).to.equal(422);
        expect(problemPaths(res.body), method).to.deep.equal(["params.name"]);
      }
    });

    it("when the config does not fit the runtime, then 422 before the registry is asked", async () => {
      const { token } = await signedIn();
      const res = await call("POST", "/api/v1/agents", { token, body: { name: agentName(), runtime: "http", config: { url: "ftp://x.example" }, extra: 1 } });
      expect(res.status).to.equal(422);
      expect(problemPaths(res.body)).to.include.members(["body.config.url", "body.extra"]);
    });

    it("when the name is taken, then 409 CONFLICT", async () => {
      const name = agentName();
      await createAgent((await signedIn()).token, { name, runtime: "echo" });
      const res = await call("POST", "/api/v1/agents", { token: (await signedIn()).token, body: { name, runtime: "sleep" } });
      expect(res.status).to.equal(409);
      expect(res.body).to.include({ error: "Conflict", code: "CONFLICT" });
    });

    it("when no credentials are sent, then 401", async () => {
      const res = await call("POST", "/api/v1/agents", { body: { name: agentName(), runtime: "echo" } });
      expect(res.status).to.equal(401);
      expect(res.body.code).to.equal("UNAUTHENTICATED");
    });
  });

  describe("list and get", () => {
    async function seed() {
      const owner = await signedIn();
      const tag = agentName("tag");
      const names = [agentName("a"), agentName("b"), agentName("c")];
      const visibility = "public";
      await createAgent(owner.token, { name: names[0], runtime: "echo", description: `first ${tag}`, visibility });
      await createAgent(owner.token, { name: names[1], runtime: "sleep", config: { ms: 10 }, enabled: false, visibility });
      await createAgent(owner.token, { name: names[2], runtime: "http", config: { url: "https://example.com/run" }, description: tag, visibility });
      return { owner, tag, names };
    }
    const listOf = (res: { body: AgentList }) => res.body.items.map((a) => a.name);

    it("when the query string filters, then its strings are converted and the filters combine", async () => {
      const { owner, tag, names } = await seed();
      const disabled = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}&enabled=false&limit=5`, { token: owner.token });
      expect(disabled.status).to.equal(200);
      expect(disabled.body).to.deep.include({ total: 1, limit: 5, offset: 0 });
      expect(listOf(disabled)).to.deep.equal([names[1]]);
      const enabled = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}&enabled=true`, { token: owner.token });
      expect(listOf(enabled)).to.deep.equal([names[0], names[2]]);
      const byRuntime = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}&runtime=http`, { token: owner.token });
      expect(listOf(byRuntime)).to.deep.equal([names[2]]);
      const text = await call<AgentList>("GET", `/api/v1/agents?q=${tag}`, { token: owner.token });
      expect(listOf(text)).to.deep.equal([names[0], names[2]]);
    });

    it("when the owner pages, then items come by name with the total", async () => {
      const { owner, names } = await seed();
      const first = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}&limit=2`, { token: owner.token });
      expect(first.body).to.deep.include({ total: 3, limit: 2, offset: 0 });
      expect(listOf(first)).to.deep.equal(names.slice(0, 2));
      const second = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}&limit=2&offset=2`, { token: owner.token });
      expect(second.body).to.deep.include({ total: 3, limit: 2, offset: 2 });
      expect(listOf(second)).to.deep.equal(names.slice(2));
    });

    it("when someone else lists, then the owner's disabled public agent is left out", async () => {
      const { owner, names } = await seed();
      const other = await signedIn();
      const res = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}`, { token: other.token });
      expect(res.body.total).to.equal(2);
      expect(listOf(res)).to.deep.equal([names[0], names[2]]);
    });

    it("when an agent is private, then another user gets 404 for it and does not list it", async () => {
      const owner = await signedIn();
      const { name } = await createAgent(owner.token, { name: agentName(), runtime: "echo" });
      const other = await signedIn();
      expect((await call("GET", `/api/v1/agents/${name}`, { token: other.token })).status).to.equal(404);
      expect((await call("PATCH", `/api/v1/agents/${name}`, { token: other.token, body: { enabled: false } })).status).to.equal(404);
      expect((await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}`, { token: other.token })).body.total).to.equal(0);
      expect((await call<AgentView>("GET", `/api/v1/agents/${name}`, { token: owner.token })).status).to.equal(200);
    });

    it("when the query is invalid, then 422 lists every problem", async () => {
      const { token } = await signedIn();
      const res = await call("GET", "/api/v1/agents?limit=0&enabled=maybe&owner=nobody&colour=red", { token });
      expect(res.status).to.equal(422);
      expect(problemPaths(res.body)).to.have.members(["query.limit", "query.enabled", "query.owner", "query.colour"]);
    });

    it("when a public agent is asked for by name, then it is answered as created; an unknown name is 404", async () => {
      const { token } = await signedIn();
      const created = await createAgent(token, { name: agentName(), runtime: "echo", description: "to get", visibility: "public" });
      const res = await call<AgentView>("GET", `/api/v1/agents/${created.name}`, { token: (await signedIn()).token });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(created);
      const missing = await call("GET", `/api/v1/agents/${agentName()}`, { token });
      expect(missing.status).to.equal(404);
      expect(missing.body).to.include({ error: "Not Found", code: "NOT_FOUND" });
    });

    it("when someone else reads an http agent, then its header values are redacted and its keys kept", async () => {
      const owner = await signedIn();
      const name = agentName();
      const config = { url: "https://bot:e2e-url-s3cret@agents.example.com/run", headers: { Authorization: "Bearer e2e-s3cret", "X-Team": "forecast" } };
      expect((await createAgent(owner.token, { name, runtime: "http", config, visibility: "public" })).config).to.deep.equal(config);
      expect((await call<AgentView>("GET", `/api/v1/agents/${name}`, { token: owner.token })).body.config).to.deep.equal(config);

      const other = await signedIn();
      const redacted = { url: `https://${REDACTED}@agents.example.com/run`, headers: { Authorization: REDACTED, "X-Team": REDACTED } };
      const got = await call<AgentView>("GET", `/api/v1/agents/${name}`, { token: other.token });
      expect(got.status).to.equal(200);
      expect(got.body.config).to.deep.equal(redacted);
      const listed = await call<AgentList>("GET", `/api/v1/agents?owner=${owner.id}`, { token: other.token });
      expect(listed.body.items.map((a) => a.config)).to.deep.equal([redacted]);
      expect(got.text + listed.text).to.not.contain("e2e-s3cret").and.not.contain("e2e-url-s3cret");
    });
  });

  describe("update and delete", () => {
    it("when the owner patches an agent, then the change is stored and the version goes up", async () => {
      const { token } = await signedIn();
      const created = await createAgent(token, { name: agentName(), runtime: "echo" });
      const res = await call<AgentView>("PATCH", `/api/v1/agents/${created.name}`, { token, body: { concurrency: 9, description: "patched" } });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.include({ name: created.name, concurrency: 9, description: "patched", version: 2 });
      const again = await call<AgentView>("PATCH", `/api/v1/agents/${created.name}`, { token, body: { runtime: "sleep", config: { ms: 5 } } });
      expect(again.body).to.deep.include({ runtime: "sleep", config: { ms: 5 }, version: 3 });
      expect((await call<AgentView>("GET", `/api/v1/agents/${created.name}`, { token })).body).to.deep.equal(again.body);
    });

    it("when the body names the agent, is empty, or sends config without runtime, then 422", async () => {
      const { token } = await signedIn();
      const { name } = await createAgent(token, { name: agentName(), runtime: "echo" });
      const renamed = await call("PATCH", `/api/v1/agents/${name}`, { token, body: { name: "other-name", enabled: false } });
      expect(renamed.status).to.equal(422);
      expect(problemPaths(renamed.body)).to.deep.equal(["body.name"]);
      expect((await call("PATCH", `/api/v1/agents/${name}`, { token, body: {} })).status).to.equal(422);
      expect((await call("PATCH", `/api/v1/agents/${name}`, { token, body: { config: { ms: 5 } } })).status).to.equal(422);
      expect((await call<AgentView>("GET", `/api/v1/agents/${name}`, { token })).body.version).to.equal(1);
    });

    it("when another user patches or deletes a public agent, then 403 and nothing changes", async () => {
      const owner = await signedIn();
      const { name } = await createAgent(owner.token, { name: agentName(), runtime: "echo", visibility: "public" });
      const other = await signedIn();
      const patched = await call("PATCH", `/api/v1/agents/${name}`, { token: other.token, body: { enabled: false } });
      expect(patched.status).to.equal(403);
      expect(patched.body).to.include({ error: "Forbidden", code: "FORBIDDEN" });
      const deleted = await call("DELETE", `/api/v1/agents/${name}`, { token: other.token });
      expect(deleted.status).to.equal(403);
      expect((await call<AgentView>("GET", `/api/v1/agents/${name}`, { token: owner.token })).body).to.deep.include({ enabled: true, version: 1 });
    });

    it("when the owner deletes an agent, then 200 and later reads and deletes are 404", async () => {
      const { token } = await signedIn();
      const { name } = await createAgent(token, { name: agentName(), runtime: "echo" });
      const res = await call("DELETE", `/api/v1/agents/${name}`, { token });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ deleted: true });
      const got = await call("GET", `/api/v1/agents/${name}`, { token });
      expect(got.status).to.equal(404);
      expect(got.body.code).to.equal("NOT_FOUND");
      expect((await call("DELETE", `/api/v1/agents/${name}`, { token })).status).to.equal(404);
    });
  });

  it("when an API key carries only agents:read, then it reads agents but cannot create or change one", async () => {
    const owner = await signedIn();
    const { name } = await createAgent(owner.token, { name: agentName(), runtime: "echo" });
    const minted = await call("POST", "/api/v1/auth/api-keys", { token: owner.token, body: { name: "reader", scopes: ["agents:read"] } });
    expect(minted.status).to.equal(201);
    const headers = { "x-api-key": minted.body.key as string };
    expect((await call("GET", `/api/v1/agents/${name}`, { headers })).status).to.equal(200);
    expect((await call("GET", `/api/v1/agents?owner=${owner.id}`, { headers })).status).to.equal(200);
    const created = await call("POST", "/api/v1/agents", { headers, body: { name: agentName(), runtime: "echo" } });
    expect(created.status).to.equal(403);
    expect(created.body).to.include({ code: "FORBIDDEN", detail: "Missing scope: agents:write" });
    const patched = await call("PATCH", `/api/v1/agents/${name}`, { headers, body: { enabled: false } });
    expect(patched.status).to.equal(403);
    expect(patched.body.detail).to.equal("Missing scope: agents:write");
  });

  it("when a client sends X-Correlation-ID, then the agent event on JetStream carries it", async () => {
    const { token } = await signedIn();
    const name = agentName();
    const correlationId = `e2e-agents-${Date.now()}`;
    const consumer = await jetstream(nc).consumers.get(Streams.agentEvents.name, { filter_subjects: agentEventSubject(name) });
    try {
      const res = await call<AgentView>("POST", "/api/v1/agents", { token, body: { name, runtime: "echo" }, headers: { "x-correlation-id": correlationId } });
      expect(res.status).to.equal(201);
      expect(res.headers.get("x-correlation-id")).to.equal(correlationId);
      const msg = await consumer.next({ expires: 5000 });
      expect(msg, "the agent.created event").to.not.equal(null);
      expect(msg!.subject).to.equal(agentEventSubject(name));
      expect(msg!.headers?.get(Headers.correlationId)).to.equal(correlationId);
      expect(msg!.json<AgentEvent>()).to.deep.equal({ type: "agent.created", agent: res.body, at: res.body.updated_at, correlation_id: correlationId });
      await waitFor(() => stack.agentRegistry!.lines.some((l) => l.correlation_id === correlationId && l.message === "agent.created"), {
        what: "the registry's log line",
      });
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  });
});
