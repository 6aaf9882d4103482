import { expect } from "chai";
import { MeridianError, Subjects, type OwnedTasksCancelled, type SubmitBatchResult, type TaskView } from "@meridian/contracts";
import { refusal } from "@meridian/service-kit/testing";
import { ExecutorTestContext, user } from "./executor-context.js";

const CAP = 10;

/** The per-owner cap on queued tasks, and clearing a deleted owner's tasks, on two executor replicas. */
describe("executor: per-owner queue cap and a deleted owner's tasks", function () {
  this.timeout(60_000);
  const ctx = new ExecutorTestContext();
  const admin = user(["admin"]);

  before(async () => {
    await ctx.start();
    await ctx.executors.shift()!.stop();
    for (let i = 0; i < 2; i++) await ctx.startExecutor({ MAX_QUEUED_TASKS_PER_USER: String(CAP) });
  });
  after(() => ctx.stop());

  const submit = async (body: Record<string, unknown>, principal: ReturnType<typeof user>): Promise<TaskView | MeridianError> => {
    try {
      return await ctx.request<TaskView>(Subjects.tasks.submit, body, principal);
    } catch (err) {
      if (err instanceof MeridianError) return err;
      throw err;
    }
  };

  it("when 60 submissions of one user arrive at once on two replicas, then the cap holds within the statements in flight, and the next is refused", async () => {
    const owner = user();
    const agent = await ctx.createAgent(owner, { runtime: "sdk" });
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, n) => submit({ agent: agent.name, input: { n } }, owner)));
    const accepted = outcomes.filter((o) => !(o instanceof MeridianError)).length;
    const refusedCodes = new Set(outcomes.filter((o) => o instanceof MeridianError).map((o) => (o as MeridianError).code));
    // Each statement counts the owner's queued tasks in its own snapshot: with two replicas and two statements in flight
    // on each, at most four can admit up to the cap at once.
    expect(accepted, `${accepted} of 60 accepted with a cap of ${CAP}`).to.be.within(CAP, 4 * CAP);
    expect([...refusedCodes]).to.deep.equal(["TOO_MANY_QUEUED_TASKS"]);
    const next = await refusal(ctx.request(Subjects.tasks.submit, { agent: agent.name, input: {} }, owner));
    expect(next).to.deep.include({ code: "TOO_MANY_QUEUED_TASKS", status: 429 });
  });

  it("when a batch is larger than what is left under the cap, then the items past it are refused one by one, in order", async () => {
    const owner = user();
    const agent = await ctx.createAgent(owner, { runtime: "sdk" });
    const batch = await ctx.request<SubmitBatchResult>(Subjects.tasks.submitBatch, { tasks: Array.from({ length: CAP + 2 }, (_, n) => ({ agent: agent.name, input: { n } })) }, owner);
    expect(batch.items.map((i) => i.status)).to.deep.equal([...new Array(CAP).fill(202), 429, 429]);
  });

  it("when auth asks to clear a deleted owner's tasks, then every queued one is cancelled with OWNER_DELETED; a non-admin is refused", async () => {
    const owner = user();
    const agent = await ctx.createAgent(owner, { runtime: "sdk" });
    const tasks = await Promise.all([1, 2, 3].map((n) => ctx.request<TaskView>(Subjects.tasks.submit, { agent: agent.name, input: { n } }, owner)));
    const forbidden = await refusal(ctx.request(Subjects.tasks.cancelOwned, { owner_id: owner.sub }, owner));
    expect(forbidden.code).to.equal("FORBIDDEN");
    const cleared = await ctx.request<OwnedTasksCancelled>(Subjects.tasks.cancelOwned, { owner_id: owner.sub }, admin);
    expect(cleared).to.deep.equal({ cancelled: 3 });
    for (const task of tasks) {
      const after = await ctx.request<TaskView>(Subjects.tasks.get, { id: task.id }, admin);
      expect(after.status).to.equal("cancelled");
      expect(after.error?.code).to.equal("OWNER_DELETED");
    }
    const events = await ctx.events(tasks[0]!);
    expect(events.map((e) => e.type)).to.include("cancelled");
    expect(events.find((e) => e.type === "cancelled")?.data).to.deep.include({ reason: "owner_deleted", was_running: false });
  });
});
