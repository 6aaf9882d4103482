import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { SocketEvents, type RelayedTaskEvent } from "@meridian/contracts";
import { waitFor } from "@meridian/service-kit/testing";
import { RealtimeTestContext } from "./realtime-context.js";

describe("realtime: ops port and metrics", function () {
  this.timeout(20_000);
  const ctx = new RealtimeTestContext();

  before(() => ctx.start({ METRICS_PORT: "0", METRICS_HOST: "127.0.0.1" }));
  after(() => ctx.stop());

  const sample = (text: string, name: string) => Number(text.split("\n").find((l) => l.startsWith(`${name}{`))?.split(" ").at(-1));

  it("when two clients are connected and an event is relayed, then the gauge and counters say so and /readyz is 200", async () => {
    const owner = randomUUID();
    const received: RelayedTaskEvent[] = [];
    for (const socket of [await ctx.connect(owner), await ctx.connect(owner)]) socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => received.push(e));
    const task = ctx.task(owner);
    await ctx.publish(task.event(1));
    await waitFor(() => received.length === 2, { what: "the event on both sockets" });

    const ops = ctx.realtime.ops!.url!;
    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(sample(text, "meridian_realtime_connected_clients")).to.equal(2);
    expect(sample(text, "meridian_realtime_events_relayed_total")).to.be.at.least(1);
    expect(sample(text, "meridian_realtime_events_delivered_total")).to.be.at.least(2);
    expect(text).to.include('service="realtime"');
    const ready = await waitFor(async () => ((await fetch(`${ops}/readyz`)).status === 200 ? true : undefined), { what: "ready" });
    expect(ready).to.equal(true);
  });
});
