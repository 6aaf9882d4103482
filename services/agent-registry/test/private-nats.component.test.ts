import { expect } from "chai";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { agentEventSubject, Streams, Subjects, type AgentEvent, type AgentView } from "@meridian/contracts";
import { createLogger } from "@meridian/service-kit";
import { startNatsServer, waitFor, type NatsServerHandle } from "@meridian/service-kit/testing";
import { ensureAgentEventsStream } from "../src/events/agent-events.js";
import { agentName, AgentRegistryTestContext, principalFor } from "./agent-registry-context.js";

// A private nats-server, because these tests shape and delete the event stream.
describe("agent-registry on a private nats-server", function () {
  let nats: NatsServerHandle;
  const ctx = new AgentRegistryTestContext();

  before(async () => {
    nats = await startNatsServer();
    const nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({
      name: Streams.agentEvents.name,
      subjects: [...Streams.agentEvents.subjects],
      storage: StorageType.File,
      max_age: nanos(60 * 60 * 1000),
    });
    await nc.close();
    await ctx.start({ NATS_URL: nats.url, NATS_REQUEST_TIMEOUT_MS: "1000", EVENT_REPUBLISH_INTERVAL_MS: "100" });
  });
  after(async () => {
    await ctx.stop();
    await nats?.stop();
  });

  it("when the stream already exists with other limits, then start brings it to seven days", async () => {
    const info = await ctx.jsm.streams.info(Streams.agentEvents.name);
    expect(info.config.max_age).to.equal(nanos(7 * 24 * 60 * 60 * 1000));
    expect(ctx.logs.lines.map((l) => l.message)).to.include("stream updated");
  });

  const outboxRows = (name: string) => ctx.database.db.selectFrom("agent_event_outbox").selectAll().where("agent_name", "=", name).execute();
  const eventCount = async (name: string) => {
    const info = await ctx.jsm.streams.info(Streams.agentEvents.name, { subjects_filter: agentEventSubject(name) });
    return info.state.subjects?.[agentEventSubject(name)] ?? 0;
  };

  it("when the stream is away, then the change stands and its event is published once the stream is back", async () => {
    const owner = principalFor("user");
    await ctx.jsm.streams.delete(Streams.agentEvents.name);
    const name = agentName();
    let restored = false;
    try {
      const created = await ctx.request<AgentView>(Subjects.agents.create, { name, runtime: "echo" }, { principal: owner });
      expect(await ctx.request<AgentView>(Subjects.agents.get, { name }, { principal: owner })).to.deep.equal(created);
      expect(await outboxRows(name)).to.have.length(1);
      expect(ctx.logs.lines.map((l) => l.message)).to.include("agent event not published yet; left for the republisher");

      await ensureAgentEventsStream(ctx.jsm, createLogger({ service: "test", silent: true }));
      restored = true;
      await waitFor(async () => (await eventCount(name)) === 1, { what: "the republished event" });
      await waitFor(async () => (await outboxRows(name)).length === 0, { what: "an empty outbox" });
      const msg = await ctx.jsm.streams.getMessage(Streams.agentEvents.name, { last_by_subj: agentEventSubject(name) });
      expect(msg!.json<AgentEvent>()).to.deep.include({ type: "agent.created", agent: created });
      expect(msg!.header.get("Nats-Msg-Id")).to.equal(`${name}:1:agent.created`);
    } finally {
      if (!restored) await ensureAgentEventsStream(ctx.jsm, createLogger({ service: "test", silent: true }));
    }
  });

  it("when one leftover event cannot be published, then the others still are and it keeps its error", async () => {
    const poisoned = agentName("poisoned");
    const fine = agentName("fine");
    const leftover = (name: string, payload: unknown) => ({
      agent_name: name,
      version: 1,
      msg_id: `${name}:1:agent.created`,
      event: JSON.stringify(payload),
      created_at: new Date(Date.now() - 60_000),
    });
    // Larger than the server's max_payload: the client refuses it every time.
    await ctx.database.db.insertInto("agent_event_outbox").values(leftover(poisoned, { pad: "x".repeat(2 * 1024 * 1024) })).execute();
    await ctx.database.db.insertInto("agent_event_outbox").values(leftover(fine, { type: "agent.created" })).execute();

    await waitFor(async () => (await eventCount(fine)) === 1, { what: "the other agent's event" });
    const [stuck] = await waitFor(async () => {
      const rows = await outboxRows(poisoned);
      return rows[0] && rows[0].attempts > 0 ? rows : undefined;
    }, { what: "the failed attempt recorded" });
    expect(stuck!.last_error).to.be.a("string").with.length.greaterThan(0);
    expect(await eventCount(poisoned)).to.equal(0);
    await ctx.database.db.deleteFrom("agent_event_outbox").where("agent_name", "=", poisoned).execute();
  });
});
