import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Socket } from "socket.io-client";
import { SocketEvents, taskEventSubject, type RelayedTaskEvent, type SubscribeAck } from "@meridian/contracts";
import { waitFor } from "@meridian/service-kit/testing";
import { RealtimeTestContext } from "./realtime-context.js";

const seqsOf = (events: RelayedTaskEvent[], taskId: string) => events.filter((e) => e.task_id === taskId).map((e) => e.seq);

function record(socket: Socket): RelayedTaskEvent[] {
  const events: RelayedTaskEvent[] = [];
  socket.on(SocketEvents.taskEvent, (e: RelayedTaskEvent) => events.push(e));
  return events;
}

describe("realtime: each task's events in seq order, none missing", function () {
  this.timeout(20_000);
  const ctx = new RealtimeTestContext();

  before(() => ctx.start({ REORDER_HOLD_MS: "100" }));
  after(() => ctx.stop());

  it("when the stream holds a task's events as 1, 3, 2, then a live client gets 1, 2, 3 once and in order", async () => {
    const owner = randomUUID();
    const events = record(await ctx.connect(owner));
    const task = ctx.task(owner);
    for (const seq of [1, 3, 2]) await ctx.publish(task.event(seq));
    await waitFor(() => seqsOf(events, task.id).length >= 3, { what: "three events" });
    const after = await ctx.publish(task.event(4));
    await waitFor(() => seqsOf(events, task.id).includes(4), { what: "the fourth event" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 2, 3, 4]);
    expect(events.at(-1)?.stream_seq).to.equal(after);
  });

  it("when a later event waits for one that never comes live, then the missing one is fetched from the stream's history", async () => {
    const owner = randomUUID();
    const task = ctx.task(owner);
    // Kept in the stream before this replica's relay started, so only the history has it.
    await ctx.publish(task.event(2));
    const replica = await ctx.startReplica({ REORDER_HOLD_MS: "100" });
    const events = record(await ctx.connect(owner, replica));
    await ctx.publish(task.event(1));
    await ctx.publish(task.event(3));
    await waitFor(() => seqsOf(events, task.id).length >= 3, { what: "three events" });
    await ctx.publish(task.event(4));
    await waitFor(() => seqsOf(events, task.id).includes(4), { what: "the fourth event" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 2, 3, 4]);
    expect(events.find((e) => e.task_id === task.id && e.seq === 2)?.data).to.deep.equal({ n: 2 });
  });

  it("when a client subscribes with since while a later event is held back, then it gets every event once and in order", async () => {
    const owner = randomUUID();
    const task = ctx.task(owner);
    const live = record(await ctx.connect(owner));
    await ctx.publish(task.event(1));
    await ctx.publish(task.event(2));
    await waitFor(() => seqsOf(live, task.id).length === 2, { what: "the first two events" });
    await ctx.publish(task.event(4));
    const watcher = await ctx.connect(owner);
    const events = record(watcher);
    const ack = (await watcher.timeout(5000).emitWithAck(SocketEvents.subscribe, { taskId: task.id, since: 0 })) as SubscribeAck;
    expect(ack).to.deep.equal({ ok: true, replayed: 2 });
    await ctx.publish(task.event(3));
    await waitFor(() => seqsOf(events, task.id).includes(4) && seqsOf(live, task.id).includes(4), { what: "the held event" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 2, 3, 4]);
    expect(seqsOf(live, task.id)).to.deep.equal([1, 2, 3, 4]);
  });

  it("when a replica first sees a task mid-way and an earlier event is still to come, then it waits for that one", async () => {
    const owner = randomUUID();
    const task = ctx.task(owner);
    await ctx.publish(task.event(1));
    await ctx.publish(task.event(2));
    const replica = await ctx.startReplica({ REORDER_HOLD_MS: "100" });
    const events = record(await ctx.connect(owner, replica));
    await ctx.publish(task.event(4));
    await ctx.publish(task.event(3));
    await ctx.publish(task.event(5));
    await waitFor(() => seqsOf(events, task.id).includes(5), { what: "the fifth event" });
    expect(seqsOf(events, task.id)).to.deep.equal([3, 4, 5]);
  });

  it("when the missing event is still not in the stream after the longest hold, then the later ones go out with a warning", async () => {
    const replica = await ctx.startReplica({ REORDER_HOLD_MS: "50", REORDER_MAX_HOLD_MS: "400" });
    const owner = randomUUID();
    const events = record(await ctx.connect(owner, replica));
    const task = ctx.task(owner);
    await ctx.publish(task.event(1));
    await ctx.publish(task.event(3));
    await ctx.publish(task.event(4));
    await waitFor(() => seqsOf(events, task.id).includes(4), { what: "the events after the gap" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 3, 4]);
    expect(ctx.logs.lines.find((l) => l.message === "task events sent with a gap" && l.task_id === task.id)).to.include({ missing_from: 2, sent_from: 3 });
    await ctx.publish(task.event(2));
    await waitFor(() => ctx.logs.lines.some((l) => l.message === "task event arrived after its gap was given up" && l.task_id === task.id), { what: "the late event logged" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 3, 4]);
  });

  it("when a client starts with long-polling and upgrades to WebSocket, then it gets a burst of events in order", async () => {
    const owner = randomUUID();
    const socket = await ctx.connect(owner, ctx.realtime, ["polling", "websocket"]);
    await waitFor(() => socket.io.engine.transport.name === "websocket", { what: "the upgrade" });
    const events = record(socket);
    const task = ctx.task(owner);
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((seq) => ctx.publish(task.event(seq))));
    await waitFor(() => seqsOf(events, task.id).length >= 8, { what: "eight events" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("when the same event is published twice past the dedupe window, then a client gets it once", async () => {
    const owner = randomUUID();
    const events = record(await ctx.connect(owner));
    const task = ctx.task(owner);
    await ctx.publish(task.event(1));
    await ctx.publish(task.event(2));
    await ctx.js.publish(taskEventSubject(owner, task.id), JSON.stringify(task.event(1)), { msgID: randomUUID() });
    await ctx.publish(task.event(3));
    await waitFor(() => seqsOf(events, task.id).includes(3), { what: "the third event" });
    expect(seqsOf(events, task.id)).to.deep.equal([1, 2, 3]);
  });
});
