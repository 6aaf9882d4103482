import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Subscription } from "@nats-io/transport-node";
import { SocketEvents, type RelayedTaskEvent, type SubscribeAck } from "@meridian/contracts";
import { waitFor } from "@meridian/service-kit/testing";
import { RealtimeTestContext } from "./realtime-context.js";

/** Replay with `since` reads the stream's history without a consumer per subscribe (a flood of those starved JetStream). */
describe("realtime: replaying a task's history", function () {
  this.timeout(30_000);
  const ctx = new RealtimeTestContext();
  let creations: Subscription;
  let consumersCreated = 0;

  before(async () => {
    await ctx.start();
    creations = ctx.nc.subscribe("$JS.API.CONSUMER.>", { callback: (_err, msg) => void (msg.subject.includes(".CREATE.") && consumersCreated++) });
  });
  after(async () => {
    creations.unsubscribe();
    await ctx.stop();
  });

  async function history(events: number, other = 0) {
    const owner = randomUUID();
    const task = ctx.task(owner);
    const noise = ctx.task(owner);
    for (let seq = 1; seq <= events; seq++) {
      await ctx.publish(task.event(seq));
      if (seq <= other) await ctx.publish(noise.event(seq));
    }
    return { owner, task };
  }

  async function replay(owner: string, taskId: string, since: number) {
    const socket = await ctx.connect(owner);
    const events: RelayedTaskEvent[] = [];
    socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => e.task_id === taskId && events.push(e));
    await ctx.nc.flush();
    const before = consumersCreated;
    const ack = (await socket.timeout(10_000).emitWithAck(SocketEvents.subscribe, { taskId, since })) as SubscribeAck;
    await ctx.nc.flush();
    return { ack, events, consumers: consumersCreated - before };
  }

  it("when a client subscribes with since to a task of 20 events among others, then it gets the 15 after since in order and no consumer is created", async () => {
    const { owner, task } = await history(20, 20);
    const { ack, events, consumers } = await replay(owner, task.id, 5);
    expect(ack).to.deep.equal({ ok: true, replayed: 15 });
    await waitFor(() => events.length >= 15, { what: "15 replayed events" });
    expect(events.map((e) => e.seq)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 6));
    expect(consumers).to.equal(0);
  });

  it("when a task's history is longer than the direct reads, then one consumer reads the rest and every event comes once, in order", async () => {
    const { owner, task } = await history(150, 30);
    const { ack, events, consumers } = await replay(owner, task.id, 0);
    expect(ack).to.deep.equal({ ok: true, replayed: 150 });
    await waitFor(() => events.length >= 150, { what: "150 replayed events" });
    expect(events.map((e) => e.seq)).to.deep.equal(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(consumers).to.equal(1);
  });
});
