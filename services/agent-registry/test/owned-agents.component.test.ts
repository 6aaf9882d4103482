import { expect } from "chai";
import { refusal } from "@meridian/service-kit/testing";
import { agentEventSubject, Streams, Subjects, type AgentEvent, type AgentView, type OwnedAgentsDeleted } from "@meridian/contracts";
import { agentName, AgentRegistryTestContext, principalFor } from "./agent-registry-context.js";

/** A deleted account's agents: auth asks the registry, as admin, to delete them all through the delete path. */
describe("agent-registry: deleting every agent of an owner", function () {
  const ctx = new AgentRegistryTestContext();
  const admin = principalFor("admin");

  before(() => ctx.start());
  after(() => ctx.stop());

  const create = (principal: ReturnType<typeof principalFor>) =>
    ctx.request<AgentView>(Subjects.agents.create, { name: agentName(), runtime: "echo" }, { principal });

  it("when an admin deletes an owner's agents, then each is gone with its agent.deleted event, and other owners' agents stay", async () => {
    const owner = principalFor("user");
    const other = principalFor("user");
    const mine = [await create(owner), await create(owner), await create(owner)];
    const theirs = await create(other);

    const result = await ctx.request<OwnedAgentsDeleted>(Subjects.agents.deleteOwned, { owner_id: owner.sub }, { principal: admin });
    expect(result).to.deep.equal({ deleted: 3, more: false });
    for (const agent of mine) {
      const refused = await refusal(ctx.request(Subjects.agents.get, { name: agent.name }, { principal: admin }));
      expect(refused.code).to.equal("NOT_FOUND");
      const msg = await ctx.jsm.streams.getMessage(Streams.agentEvents.name, { last_by_subj: agentEventSubject(agent.name) });
      expect(msg!.json<AgentEvent>()).to.deep.include({ type: "agent.deleted" });
    }
    expect((await ctx.request<AgentView>(Subjects.agents.get, { name: theirs.name }, { principal: other })).id).to.equal(theirs.id);
    expect(await ctx.request<OwnedAgentsDeleted>(Subjects.agents.deleteOwned, { owner_id: owner.sub }, { principal: admin })).to.deep.equal({ deleted: 0, more: false });
  });

  it("when a non-admin asks, then FORBIDDEN and nothing is deleted", async () => {
    const owner = principalFor("user");
    const agent = await create(owner);
    const refused = await refusal(ctx.request(Subjects.agents.deleteOwned, { owner_id: owner.sub }, { principal: owner }));
    expect(refused.code).to.equal("FORBIDDEN");
    expect((await ctx.request<AgentView>(Subjects.agents.get, { name: agent.name }, { principal: owner })).id).to.equal(agent.id);
  });
});
