import { expect } from "chai";
import { sql } from "kysely";
import { Subjects, type AgentEvent, type AgentView, type Principal } from "@meridian/contracts";
import { MemoryTransport } from "@meridian/service-kit";
import { refusal } from "@meridian/service-kit/testing";
import { start } from "../src/service.js";
import { agentName, AgentRegistryTestContext, principalFor } from "./agent-registry-context.js";

describe("agent-registry events and their commit", function () {
  const ctx = new AgentRegistryTestContext();

  before(() => ctx.start());
  after(() => ctx.stop());

  const create = (principal: Principal, body: Record<string, unknown>) => ctx.request<AgentView>(Subjects.agents.create, body, { principal });
  const update = (principal: Principal, body: Record<string, unknown>) => ctx.request<AgentView>(Subjects.agents.update, body, { principal });



  const outboxRows = (name: string) => ctx.database.db.selectFrom("agent_event_outbox").selectAll().where("agent_name", "=", name).execute();

  /**
   * A deferred constraint trigger that makes every commit touching this agent's row fail: the statements of
   * the transaction succeed, only COMMIT is refused, as when the server fails or the connection drops there.
   */
  async function failCommitsOf(name: string): Promise<() => Promise<void>> {
    const fn = sql.id("agent_registry", `fail_commit_${name}`);
    const trigger = sql.id(`fail_commit_${name}`);
    await sql`create function ${fn}() returns trigger language plpgsql as $$
      begin
        if new.name = ${sql.lit(name)} then raise exception 'commit refused by the test'; end if;
        return null;
      end $$`.execute(ctx.database.db);
    await sql`create constraint trigger ${trigger} after insert or update on agent_registry.agents
      deferrable initially deferred for each row execute function ${fn}()`.execute(ctx.database.db);
    return async () => {
      await sql`drop trigger ${trigger} on agent_registry.agents`.execute(ctx.database.db);
      await sql`drop function ${fn}()`.execute(ctx.database.db);
    };
  }

  it("when the commit of a create fails, then no event reaches the stream and the agent does not exist", async () => {
    const owner = principalFor("user");
    const name = agentName("doomed");
    const restore = await failCommitsOf(name);
    try {
      expect((await refusal(create(owner, { name, runtime: "echo" }))).code).to.equal("INTERNAL");
    } finally {
      await restore();
    }
    expect(await ctx.eventCount(name)).to.equal(0);
    expect(await outboxRows(name)).to.deep.equal([]);
    expect((await refusal(ctx.request(Subjects.agents.get, { name }, { principal: owner }))).code).to.equal("NOT_FOUND");
  });

  it("when the commit of an update fails, then the stream keeps only the create's event and the agent is unchanged", async () => {
    const owner = principalFor("user");
    const name = agentName("doomed");
    await create(owner, { name, runtime: "echo" });
    const restore = await failCommitsOf(name);
    try {
      expect((await refusal(update(owner, { name, concurrency: 9 }))).code).to.equal("INTERNAL");
    } finally {
      await restore();
    }
    expect(await ctx.eventCount(name)).to.equal(1);
    expect(await ctx.request<AgentView>(Subjects.agents.get, { name }, { principal: owner })).to.deep.include({ concurrency: 4, version: 1 });
  });

  it("when a change commits, then exactly one event is on the stream and none is left in the outbox", async () => {
    const owner = principalFor("user");
    const name = agentName();
    const created = await create(owner, { name, runtime: "echo" });
    expect(await ctx.eventCount(name)).to.equal(1);
    expect(await outboxRows(name)).to.deep.equal([]);
    const [msg] = await ctx.allEvents(name, 1);
    expect(msg!.json<AgentEvent>()).to.deep.include({ type: "agent.created", agent: created });
    expect(msg!.headers?.get("Nats-Msg-Id")).to.equal(`${name}:1:agent.created`);
  });

  it("when one agent is changed by many requests at once on two replicas, then its events reach the stream once each, in version order", async () => {
    const secondLogs = new MemoryTransport();
    const second = await start(ctx.config, { silentLogs: true, logTransports: [secondLogs] });
    try {
      const owner = principalFor("user");
      const name = agentName();
      await create(owner, { name, runtime: "echo" });
      const updates = await Promise.all(Array.from({ length: 16 }, (_, i) => update(owner, { name, concurrency: i + 1 })));
      expect(updates.map((u) => u.version).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 16 }, (_, i) => i + 2));
      const events = (await ctx.allEvents(name, 17)).map((m) => m.json<AgentEvent>());
      expect(events.map((e) => e.agent.version)).to.deep.equal(Array.from({ length: 17 }, (_, i) => i + 1));
      expect(await outboxRows(name)).to.deep.equal([]);
      const servedBySecond = secondLogs.lines.filter((l) => l.message === "agent.updated" && l.agent === name).length;
      expect(servedBySecond, "updates served by the second replica").to.be.within(1, 15);
    } finally {
      await second.stop();
    }
  });
});
