import { expect } from "chai";
import { refusal } from "@meridian/service-kit/testing";
import { StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import {
  agentEventSubject,
  Headers,
  REDACTED,
  Streams,
  Subjects,
  type AgentEvent,
  type AgentList,
  type AgentView,
  type HealthReport,
  type Principal,
} from "@meridian/contracts";
import { agentName, AgentRegistryTestContext, apiKeyPrincipal, principalFor } from "./agent-registry-context.js";

const refused = refusal;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("agent-registry service over NATS", function () {
  const ctx = new AgentRegistryTestContext();
  const admin = principalFor("admin");

  before(() => ctx.start());
  after(() => ctx.stop());

  const create = (principal: Principal, body: Record<string, unknown>, correlationId?: string) =>
    ctx.request<AgentView>(Subjects.agents.create, body, { principal, ...(correlationId ? { correlationId } : {}) });
  const get = (principal: Principal, name: string) => ctx.request<AgentView>(Subjects.agents.get, { name }, { principal });
  const getById = (principal: Principal, id: string) => ctx.request<AgentView>(Subjects.agents.getById, { id }, { principal });
  const list = (principal: Principal, query: Record<string, unknown>) => ctx.request<AgentList>(Subjects.agents.list, query, { principal });
  const update = (principal: Principal, body: Record<string, unknown>, correlationId?: string) =>
    ctx.request<AgentView>(Subjects.agents.update, body, { principal, ...(correlationId ? { correlationId } : {}) });
  const remove = (principal: Principal, name: string, correlationId?: string) =>
    ctx.request<{ deleted: true }>(Subjects.agents.delete, { name }, { principal, ...(correlationId ? { correlationId } : {}) });

  async function lastEvent(name: string) {
    const msg = await ctx.jsm.streams.getMessage(Streams.agentEvents.name, { last_by_subj: agentEventSubject(name) });
    expect(msg, `an event for ${name}`).to.not.equal(null);
    return { event: msg!.json<AgentEvent>(), headers: msg!.header };
  }



  describe("create", () => {
    it("when a valid agent is created, then defaults are applied and the caller owns it at version 1", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const view = await create(owner, { name, runtime: "echo" });
      expect(view).to.deep.include({
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
        owner_id: owner.sub,
        owner_username: owner.username,
        version: 1,
      });
      expect(view.id).to.match(UUID);
      expect(view.created_at).to.equal(view.updated_at);
      expect(await get(owner, name)).to.deep.equal(view);
    });

    it("when every setting is given, then they are stored as given", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const body = {
        name,
        runtime: "http",
        config: { url: "https://agents.example.com/run", headers: { "X-Team": "a" } },
        description: "Runs remotely",
        timeout_ms: 1000,
        max_attempts: 20,
        backoff_ms: [0, 10],
        concurrency: 1000,
        enabled: false,
        visibility: "public",
      };
      expect(await create(owner, body)).to.deep.include({ ...body, owner_id: owner.sub });
    });

    for (const bad of ["Bad.Name", "a*b", "a".repeat(65), "-leading-dash", "with space", "agents.>", ""]) {
      it(`when the name is '${bad.length > 20 ? `${bad.length} characters` : bad}', then VALIDATION_FAILED`, async () => {
        const err = await refused(create(principalFor("user"), { name: bad, runtime: "echo" }));
        expect(err.code).to.equal("VALIDATION_FAILED");
        expect(err.status).to.equal(422);
        expect((err.details as Array<{ path: string }>).map((d) => d.path)).to.include("name");
      });
    }

    it("when the config does not fit the runtime, then VALIDATION_FAILED names the field", async () => {
      const owner = principalFor("user");
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ runtime: "http" }, "config"],
        [{ runtime: "http", config: {} }, "config.url"],
        [{ runtime: "http", config: { url: "ftp://example.com/x" } }, "config.url"],
        [{ runtime: "sleep", config: { ms: 600_001 } }, "config.ms"],
        [{ runtime: "echo", config: { url: "https://example.com" } }, "config.url"],
        [{ runtime: "python" }, "runtime"],
        [{ runtime: "echo", backoff_ms: Array(11).fill(1) }, "backoff_ms"],
        [{ runtime: "echo", timeout_ms: 999 }, "timeout_ms"],
      ];
      for (const [body, path] of cases) {
        const err = await refused(create(owner, { name: agentName(), ...body }));
        expect(err.code, JSON.stringify(body)).to.equal("VALIDATION_FAILED");
        expect((err.details as Array<{ path: string }>).map((d) => d.path), JSON.stringify(body)).to.include(path);
      }
    });

    it("when the name is taken, then CONFLICT", async () => {
      const name = agentName();
      await create(principalFor("user"), { name, runtime: "echo" });
      const err = await refused(create(principalFor("user"), { name, runtime: "sleep" }));
      expect(err.code).to.equal("CONFLICT");
      expect(err.status).to.equal(409);
    });

    it("when two creates race for one name, then exactly one wins", async () => {
      const name = agentName();
      const results = await Promise.allSettled([
        create(principalFor("user"), { name, runtime: "echo" }),
        create(principalFor("user"), { name, runtime: "echo" }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
    });

    it("when a readonly user creates, then FORBIDDEN", async () => {
      const err = await refused(create(principalFor("readonly"), { name: agentName(), runtime: "echo" }));
      expect(err.code).to.equal("FORBIDDEN");
    });

    it("when an API key lacks agents:write, then FORBIDDEN; with it, the key's owner owns the agent", async () => {
      const owner = principalFor("user");
      const err = await refused(create(apiKeyPrincipal(owner, ["agents:read"]), { name: agentName(), runtime: "echo" }));
      expect(err.code).to.equal("FORBIDDEN");
      const view = await create(apiKeyPrincipal(owner, ["agents:write"]), { name: agentName(), runtime: "echo" });
      expect(view.owner_id).to.equal(owner.sub);
    });

    it("when there is no principal, then UNAUTHENTICATED", async () => {
      const err = await refused(ctx.request(Subjects.agents.create, { name: agentName(), runtime: "echo" }));
      expect(err.code).to.equal("UNAUTHENTICATED");
    });
  });

  describe("get and visibility", () => {
    it("when another user asks for an enabled public agent, then it is returned", async () => {
      const name = agentName();
      const view = await create(principalFor("user"), { name, runtime: "echo", visibility: "public" });
      expect(await get(principalFor("user"), name)).to.deep.equal(view);
      expect(await get(principalFor("readonly"), name)).to.deep.equal(view);
    });

    it("when an agent is private, then another user can neither get, list, update nor delete it; admins can", async () => {
      const owner = principalFor("user");
      const other = principalFor("user");
      const name = agentName();
      const view = await create(owner, { name, runtime: "echo" });
      expect(view.visibility).to.equal("private");
      expect((await refused(get(other, name))).code).to.equal("NOT_FOUND");
      expect(await list(other, { owner: owner.sub })).to.deep.include({ items: [], total: 0 });
      expect((await list(other, { q: name })).total).to.equal(0);
      expect((await refused(update(other, { name, concurrency: 1 }))).code).to.equal("NOT_FOUND");
      expect((await refused(remove(other, name))).code).to.equal("NOT_FOUND");
      expect(await get(admin, name)).to.deep.equal(view);
      expect((await list(admin, { owner: owner.sub })).items).to.deep.equal([view]);
      expect(await get(owner, name)).to.deep.equal(view);
    });

    it("when the owner makes an agent public, then others see and list it, and lose it again when it is disabled or private", async () => {
      const owner = principalFor("user");
      const other = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo" });
      const shared = await update(owner, { name, visibility: "public" });
      expect(shared).to.deep.include({ visibility: "public", version: 2 });
      expect(await get(other, name)).to.deep.equal(shared);
      expect(await list(other, { owner: owner.sub })).to.deep.include({ items: [shared], total: 1 });
      await update(owner, { name, enabled: false });
      expect((await refused(get(other, name))).code).to.equal("NOT_FOUND");
      expect((await list(other, { owner: owner.sub })).total).to.equal(0);
      await update(owner, { name, enabled: true, visibility: "private" });
      expect((await refused(get(other, name))).code).to.equal("NOT_FOUND");
      expect((await list(other, { owner: owner.sub })).total).to.equal(0);
    });

    it("when a public agent is disabled, then only its owner and admins see it", async () => {
      const owner = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo", enabled: false, visibility: "public" });
      expect((await get(owner, name)).enabled).to.equal(false);
      expect((await get(admin, name)).name).to.equal(name);
      expect((await refused(get(principalFor("user"), name))).code).to.equal("NOT_FOUND");
      expect((await refused(get(apiKeyPrincipal(admin, ["agents:read"]), name))).code).to.equal("NOT_FOUND");
    });

    it("when the name is unknown, then NOT_FOUND", async () => {
      expect((await refused(get(principalFor("user"), agentName()))).code).to.equal("NOT_FOUND");
    });

    it("when an API key lacks agents:read, then FORBIDDEN", async () => {
      const name = agentName();
      const owner = principalFor("user");
      await create(owner, { name, runtime: "echo" });
      expect((await refused(get(apiKeyPrincipal(owner, ["tasks:read"]), name))).code).to.equal("FORBIDDEN");
      expect((await refused(list(apiKeyPrincipal(owner, ["tasks:read"]), {}))).code).to.equal("FORBIDDEN");
    });

    it("when someone else reads an http agent, then its header values are redacted; the owner, admins and the event keep them", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const config = { url: "https://agents.example.com/run", headers: { Authorization: "Bearer s3cret-token", "X-Team": "forecast" } };
      const created = await create(owner, { name, runtime: "http", config, visibility: "public" });
      expect(created.config).to.deep.equal(config);
      expect((await get(owner, name)).config).to.deep.equal(config);
      expect((await get(apiKeyPrincipal(owner, ["agents:read"]), name)).config).to.deep.equal(config);
      expect((await get(admin, name)).config).to.deep.equal(config);

      const redacted = { url: config.url, headers: { Authorization: REDACTED, "X-Team": REDACTED } };
      const other = principalFor("user");
      expect(await get(other, name)).to.deep.equal({ ...created, config: redacted });
      const listed = await list(other, { owner: owner.sub });
      expect(listed.items.map((a) => a.config)).to.deep.equal([redacted]);
      expect((await get(apiKeyPrincipal(admin, ["agents:read"]), name)).config).to.deep.equal(redacted);

      expect((await lastEvent(name)).event.agent.config).to.deep.equal(config);
      const changed = await update(owner, { name, concurrency: 2 });
      expect(changed.config).to.deep.equal(config);
      expect((await get(other, name)).config).to.deep.equal(redacted);
    });

    it("when the url of an http agent carries user-info, then others get it redacted; the owner and admins see it", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const config = { url: "https://bot:url-s3cret@agents.example.com/run" };
      await create(owner, { name, runtime: "http", config, visibility: "public" });
      expect((await get(owner, name)).config).to.deep.equal(config);
      expect((await get(admin, name)).config).to.deep.equal(config);
      const shown = { url: `https://${REDACTED}@agents.example.com/run` };
      const other = principalFor("user");
      expect((await get(other, name)).config).to.deep.equal(shown);
      expect((await list(other, { owner: owner.sub })).items.map((a) => a.config)).to.deep.equal([shown]);
    });
  });

  describe("ids", () => {
    it("when an agent is updated, then its id stays", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const created = await create(owner, { name, runtime: "echo" });
      const updated = await update(owner, { name, runtime: "sleep", config: { ms: 5 }, visibility: "public" });
      expect(updated.id).to.equal(created.id);
      expect((await get(owner, name)).id).to.equal(created.id);
      expect((await lastEvent(name)).event.agent.id).to.equal(created.id);
    });

    it("when a name is deleted and created again, then the new agent has a new id and the old id is gone", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const first = await create(owner, { name, runtime: "echo" });
      await remove(owner, name);
      expect((await lastEvent(name)).event.agent.id).to.equal(first.id);
      expect((await refused(getById(admin, first.id))).code).to.equal("NOT_FOUND");
      const second = await create(owner, { name, runtime: "echo" });
      expect(second.id).to.match(UUID).and.not.equal(first.id);
      expect((await getById(admin, second.id)).name).to.equal(name);
      expect((await refused(getById(admin, first.id))).code).to.equal("NOT_FOUND");
    });

    it("when an admin asks by id, then the full view comes back, header values and url user-info included", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const config = { url: "https://bot:s3cret@agents.example.com/run", headers: { Authorization: "Bearer s3cret" } };
      const created = await create(owner, { name, runtime: "http", config });
      expect(await getById(admin, created.id)).to.deep.equal(created);
      const system = apiKeyPrincipal(principalFor("admin"), ["agents:read", "admin"]);
      expect((await getById(system, created.id)).config).to.deep.equal(config);
    });

    it("when someone other than an admin asks by id, then FORBIDDEN, even the owner", async () => {
      const owner = principalFor("user");
      const created = await create(owner, { name: agentName(), runtime: "echo", visibility: "public" });
      expect((await refused(getById(owner, created.id))).code).to.equal("FORBIDDEN");
      expect((await refused(getById(principalFor("user"), created.id))).code).to.equal("FORBIDDEN");
      expect((await refused(getById(apiKeyPrincipal(admin, ["agents:read"]), created.id))).code).to.equal("FORBIDDEN");
      expect((await refused(ctx.request(Subjects.agents.getById, { id: created.id }))).code).to.equal("UNAUTHENTICATED");
    });

    it("when the id is unknown or not a uuid, then NOT_FOUND or VALIDATION_FAILED", async () => {
      expect((await refused(getById(admin, "0b5e8f7a-8c1d-4a55-b0a4-6a2f1e0c9d11"))).code).to.equal("NOT_FOUND");
      expect((await refused(getById(admin, "nope"))).code).to.equal("VALIDATION_FAILED");
    });
  });

  describe("list", () => {
    async function seed() {
      const owner = principalFor("user");
      const tag = agentName("tag");
      const names = ["a", "b", "c", "d", "e"].map((p) => agentName(p));
      const visibility = "public";
      await create(owner, { name: names[0], runtime: "echo", description: `first ${tag}`, visibility });
      await create(owner, { name: names[1], runtime: "echo", visibility });
      await create(owner, { name: names[2], runtime: "http", config: { url: "https://example.com" }, description: tag.toUpperCase(), visibility });
      await create(owner, { name: names[3], runtime: "sleep", enabled: false, visibility });
      await create(owner, { name: names[4], runtime: "sdk", visibility });
      return { owner, tag, names };
    }

    it("when the owner pages through its agents, then items come by name with the total", async () => {
      const { owner, names } = await seed();
      const first = await list(owner, { owner: owner.sub, limit: 2 });
      expect(first).to.deep.include({ total: 5, limit: 2, offset: 0 });
      expect(first.items.map((a) => a.name)).to.deep.equal(names.slice(0, 2));
      const last = await list(owner, { owner: owner.sub, limit: 2, offset: 4 });
      expect(last.items.map((a) => a.name)).to.deep.equal(names.slice(4));
      expect(last.total).to.equal(5);
      const beyond = await list(owner, { owner: owner.sub, offset: 10 });
      expect(beyond).to.deep.include({ items: [], total: 5, limit: 20 });
    });

    it("when filters are given, then they combine", async () => {
      const { owner, tag, names } = await seed();
      const byRuntime = await list(owner, { owner: owner.sub, runtime: "echo" });
      expect(byRuntime.items.map((a) => a.name)).to.deep.equal(names.slice(0, 2));
      const byText = await list(owner, { q: tag });
      expect(byText.items.map((a) => a.name)).to.deep.equal([names[0], names[2]]);
      expect(byText.total).to.equal(2);
      const byName = await list(owner, { q: names[1] });
      expect(byName.items.map((a) => a.name)).to.deep.equal([names[1]]);
      const disabled = await list(owner, { owner: owner.sub, enabled: false });
      expect(disabled.items.map((a) => a.name)).to.deep.equal([names[3]]);
      const none = await list(owner, { q: `${tag}%_` });
      expect(none.total).to.equal(0);
    });

    it("when someone else lists, then the owner's disabled public agents are left out; admins see them", async () => {
      const { owner, names } = await seed();
      const other = await list(principalFor("user"), { owner: owner.sub });
      expect(other.total).to.equal(4);
      expect(other.items.map((a) => a.name)).to.not.include(names[3]);
      expect((await list(principalFor("user"), { owner: owner.sub, enabled: false })).total).to.equal(0);
      expect((await list(admin, { owner: owner.sub })).total).to.equal(5);
    });

    it("when the query is invalid, then VALIDATION_FAILED", async () => {
      const user = principalFor("user");
      for (const query of [{ limit: 0 }, { limit: 101 }, { offset: 10_001 }, { owner: "not-a-uuid" }, { runtime: "x" }, { q: "x".repeat(101) }, { extra: 1 }]) {
        expect((await refused(list(user, query))).code, JSON.stringify(query)).to.equal("VALIDATION_FAILED");
      }
    });
  });

  describe("update", () => {
    it("when the owner changes settings, then they are stored and the version goes up", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const created = await create(owner, { name, runtime: "echo", description: "before" });
      const updated = await update(owner, { name, concurrency: 9, description: "after", backoff_ms: [5] });
      expect(updated).to.deep.include({ name, concurrency: 9, description: "after", backoff_ms: [5], runtime: "echo", version: 2 });
      expect(updated.created_at).to.equal(created.created_at);
      expect(new Date(updated.updated_at).getTime()).to.be.greaterThanOrEqual(new Date(created.updated_at).getTime());
      const again = await update(owner, { name, runtime: "http", config: { url: "https://example.com/x" }, description: "" });
      expect(again).to.deep.include({ runtime: "http", config: { url: "https://example.com/x" }, description: null, version: 3 });
      expect(await get(owner, name)).to.deep.equal(again);
    });

    it("when the runtime changes without a config it needs, or config comes without runtime, then VALIDATION_FAILED", async () => {
      const owner = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo" });
      expect((await refused(update(owner, { name, runtime: "http" }))).code).to.equal("VALIDATION_FAILED");
      expect((await refused(update(owner, { name, config: { ms: 5 } }))).code).to.equal("VALIDATION_FAILED");
      expect((await refused(update(owner, { name }))).code).to.equal("VALIDATION_FAILED");
      expect((await update(owner, { name, runtime: "sleep", config: { ms: 5 } })).config).to.deep.equal({ ms: 5 });
    });

    it("when another user updates or deletes a public agent, then FORBIDDEN, or NOT_FOUND once it is disabled", async () => {
      const owner = principalFor("user");
      const other = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo", visibility: "public" });
      expect((await refused(update(other, { name, concurrency: 1 }))).code).to.equal("FORBIDDEN");
      expect((await refused(remove(other, name))).code).to.equal("FORBIDDEN");
      await update(owner, { name, enabled: false });
      expect((await refused(update(other, { name, enabled: true }))).code).to.equal("NOT_FOUND");
      expect((await refused(remove(other, name))).code).to.equal("NOT_FOUND");
      expect((await get(owner, name)).version).to.equal(2);
    });

    it("when an admin updates someone's agent, then it is changed", async () => {
      const name = agentName();
      await create(principalFor("user"), { name, runtime: "echo", enabled: false });
      expect(await update(admin, { name, enabled: true })).to.deep.include({ enabled: true, version: 2 });
    });

    it("when the agent is unknown, then NOT_FOUND", async () => {
      expect((await refused(update(principalFor("user"), { name: agentName(), enabled: false }))).code).to.equal("NOT_FOUND");
    });

    it("when a readonly user or a read-only key updates, then FORBIDDEN", async () => {
      const owner = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo" });
      expect((await refused(update(apiKeyPrincipal(owner, ["agents:read"]), { name, enabled: false }))).code).to.equal("FORBIDDEN");
      expect((await refused(update(principalFor("readonly"), { name, enabled: false }))).code).to.equal("FORBIDDEN");
    });
  });

  describe("delete", () => {
    it("when the owner deletes, then the agent is gone", async () => {
      const owner = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo" });
      expect(await remove(owner, name)).to.deep.equal({ deleted: true });
      expect((await refused(get(owner, name))).code).to.equal("NOT_FOUND");
      expect((await refused(remove(owner, name))).code).to.equal("NOT_FOUND");
      expect((await list(owner, { owner: owner.sub })).total).to.equal(0);
    });

    it("when a deleted name is created again, then it starts fresh for its new owner with a higher version", async () => {
      const name = agentName();
      const first = principalFor("user");
      await create(first, { name, runtime: "echo", concurrency: 7 });
      await remove(first, name);
      const second = principalFor("user");
      const again = await create(second, { name, runtime: "sleep" });
      expect(again).to.deep.include({ owner_id: second.sub, runtime: "sleep", concurrency: 4, visibility: "private", version: 3 });
      expect((await lastEvent(name)).event).to.deep.include({ type: "agent.created" });
    });

    it("when an admin deletes someone's agent, then it is gone", async () => {
      const name = agentName();
      await create(principalFor("user"), { name, runtime: "echo" });
      await remove(admin, name);
      expect((await refused(get(admin, name))).code).to.equal("NOT_FOUND");
    });
  });

  describe("events", () => {
    it("when an agent is created, updated and deleted, then each change is on the stream with its type and correlation id", async () => {
      const owner = principalFor("user");
      const name = agentName();
      const created = await create(owner, { name, runtime: "echo" }, "corr-agents-create");
      let last = await lastEvent(name);
      expect(last.event).to.deep.equal({ type: "agent.created", agent: created, at: created.updated_at, correlation_id: "corr-agents-create" });
      expect(last.headers.get(Headers.correlationId)).to.equal("corr-agents-create");
      expect(last.headers.get("Nats-Msg-Id")).to.equal(`${name}:1:agent.created`);

      const updated = await update(owner, { name, enabled: false }, "corr-agents-update");
      last = await lastEvent(name);
      expect(last.event).to.deep.include({ type: "agent.updated", agent: updated, correlation_id: "corr-agents-update" });
      expect(last.headers.get("Nats-Msg-Id")).to.equal(`${name}:2:agent.updated`);

      await remove(owner, name, "corr-agents-delete");
      last = await lastEvent(name);
      expect(last.event).to.deep.include({ type: "agent.deleted", correlation_id: "corr-agents-delete" });
      expect(last.event.agent).to.deep.include({ name, version: 3 });
      expect(last.headers.get(Headers.correlationId)).to.equal("corr-agents-delete");

      const messages = await ctx.allEvents(name, 3);
      expect(messages.map((m) => m.json<AgentEvent>().type)).to.deep.equal(["agent.created", "agent.updated", "agent.deleted"]);
      expect(messages.map((m) => m.subject)).to.deep.equal(Array(3).fill(agentEventSubject(name)));
    });

    it("when a change is refused, then nothing is published", async () => {
      const owner = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo" });
      await refused(update(principalFor("user"), { name, enabled: false }));
      await refused(create(owner, { name, runtime: "echo" }));
      await refused(remove(principalFor("readonly"), name));
      expect(await ctx.eventCount(name)).to.equal(1);
      expect((await lastEvent(name)).event.type).to.equal("agent.created");
    });

    it("when the service starts, then the stream keeps file storage for seven days", async () => {
      const info = await ctx.jsm.streams.info(Streams.agentEvents.name);
      expect(info.config).to.deep.include({ storage: StorageType.File, max_age: nanos(7 * 24 * 60 * 60 * 1000) });
      expect(info.config.subjects).to.deep.equal([...Streams.agentEvents.subjects]);
    });
  });

  describe("operations", () => {
    it("when a request carries a correlation id, then the service's log lines carry it", async () => {
      await create(principalFor("user"), { name: agentName(), runtime: "echo" }, "corr-agents-logs");
      const lines = ctx.logs.lines.filter((l) => l.correlation_id === "corr-agents-logs");
      expect(lines.map((l) => l.message)).to.include.members(["agent.created", "request handled"]);
      expect(lines.every((l) => l.subject === Subjects.agents.create && l.service === "agent-registry")).to.equal(true);
    });

    it("when health is asked, then postgres is reported ok", async () => {
      const report = await ctx.request<HealthReport>(Subjects.agents.health, {});
      expect(report).to.deep.include({ service: "agent-registry", status: "ok" });
      expect(report.checks.postgres).to.deep.equal({ status: "ok" });
    });
  });
});
