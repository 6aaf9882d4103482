import { expect } from "chai";
import { isFinalStatus, type AgentView, type BatchItemResult, type SubmitBatchResult, type TaskView } from "@meridian/contracts";
import { uniqueName, waitFor } from "@meridian/service-kit/testing";
import { createAgentVia, http, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

const accepted = (item: BatchItemResult): item is { status: 202; task: TaskView } => item.status === 202;

describe("e2e: batch task submission through the gateway", function () {
  this.timeout(60_000);
  const stack = new Stack();

  before(() => stack.start({ agentRegistry: true, executors: 1 }));
  after(() => stack.stop());

  it("when a batch of three names one unknown agent, then 202 with two queued tasks and one NOT_FOUND, and both tasks succeed", async () => {
    const { id, token } = await signUp(stack.gatewayUrl);
    const agent = await createAgentVia<AgentView>(stack.gatewayUrl, token, { runtime: "echo" });
    const missing = uniqueName("no-such-agent").toLowerCase();
    const res = await http<SubmitBatchResult>(stack.gatewayUrl, "POST", "/api/v1/tasks/batch", {
      token,
      body: {
        tasks: [
          { agent: agent.name, input: { n: 1 } },
          { agent: missing, input: { n: 2 } },
          { agent: agent.name, input: { n: 3 } },
        ],
      },
    });
    expect(res.status, res.text).to.equal(202);
    expect(res.body.items.map((i) => i.status)).to.deep.equal([202, 404, 202]);
    expect(res.body.items[1]).to.deep.include({ status: 404 });
    expect((res.body.items[1] as { error: { code: string } }).error.code).to.equal("NOT_FOUND");

    const tasks = res.body.items.filter(accepted).map((i) => i.task);
    expect(tasks.map((t) => [t.agent, t.owner_id, t.input])).to.deep.equal([
      [agent.name, id, { n: 1 }],
      [agent.name, id, { n: 3 }],
    ]);
    for (const task of tasks) {
      const done = await waitFor(
        async () => {
          const got = await http<TaskView>(stack.gatewayUrl, "GET", `/api/v1/tasks/${task.id}`, { token });
          return isFinalStatus(got.body.status) ? got.body : undefined;
        },
        { timeoutMs: 15_000, what: `task ${task.id} to finish` },
      );
      expect(done).to.deep.include({ status: "succeeded" });
      expect(done.result).to.deep.equal(task.input);
    }
  });
});
