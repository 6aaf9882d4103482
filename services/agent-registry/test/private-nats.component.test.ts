import { expect } from "chai";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { MeridianError, Streams, Subjects, type AgentView } from "@meridian/contracts";
import { startNatsServer, type NatsServerHandle } from "@meridian/service-kit/testing";
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
    await ctx.start({ NATS_URL: nats.url, NATS_REQUEST_TIMEOUT_MS: "1000" });
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

  it("when a change cannot be published, then SERVICE_UNAVAILABLE and nothing is stored", async () => {
    const owner = principalFor("user");
    const kept = agentName();
    await ctx.request<AgentView>(Subjects.agents.create, { name: kept, runtime: "echo" }, { principal: owner });
    await ctx.jsm.streams.delete(Streams.agentEvents.name);

    const name = agentName();
    const err = await ctx.request(Subjects.agents.create, { name, runtime: "echo" }, { principal: owner }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(MeridianError);
    expect((err as MeridianError).code).to.equal("SERVICE_UNAVAILABLE");
    expect((err as MeridianError).retryable).to.equal(true);
    const missing = await ctx.request(Subjects.agents.get, { name }, { principal: owner }).catch((e: unknown) => e);
    expect((missing as MeridianError).code).to.equal("NOT_FOUND");

    const update = await ctx.request(Subjects.agents.update, { name: kept, enabled: false }, { principal: owner }).catch((e: unknown) => e);
    expect((update as MeridianError).code).to.equal("SERVICE_UNAVAILABLE");
    expect(await ctx.request<AgentView>(Subjects.agents.get, { name: kept }, { principal: owner })).to.deep.include({ enabled: true, version: 1 });
    expect(ctx.logs.lines.map((l) => l.message)).to.include("agent event not published; change rolled back");
  });
});
