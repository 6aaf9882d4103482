import { expect } from "chai";
import { MAX_BATCH_TASKS, Subjects, type SubmitBatchResult } from "@meridian/contracts";
import { GatewayTestContext, type Received } from "./gateway-context.js";

interface Reply {
  status: number;
  headers: globalThis.Headers;
  body: Record<string, unknown>;
}

const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ agent: "echo-bot", input: { i } }));

/** The executor's part, faked: every item accepted, in order. */
const acceptAll = (request: Received): SubmitBatchResult => ({
  items: (request.payload.tasks as Array<{ agent: string }>).map((t, i) => ({
    status: 202,
    task: { id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, agent: t.agent, status: "queued" } as never,
  })),
});

describe("gateway: POST /api/v1/tasks/batch", function () {
  let ctx: GatewayTestContext;
  let received: Received[];

  const post = async (path: string, body: unknown, token: string): Promise<Reply> => {
    const res = await fetch(`${ctx.gateway.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    ctx = await new GatewayTestContext().start({ RATE_LIMIT_TASKS_MAX: "10" });
    received = ctx.fake(Subjects.tasks.submitBatch, acceptAll);
  });
  afterEach(() => ctx.stop());

  it("when the batch is accepted, then 202 with the service's items in order and the caller as principal", async () => {
    const res = await post("/api/v1/tasks/batch", { tasks: tasks(3) }, ctx.token(["tasks:write"], "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21"));
    expect(res.status).to.equal(202);
    expect((res.body.items as Array<{ status: number }>).map((i) => i.status)).to.deep.equal([202, 202, 202]);
    expect(received).to.have.length(1);
    expect(received[0]!.payload.tasks).to.deep.equal(tasks(3));
    expect(received[0]!.principal).to.include({ sub: "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21" });
    expect(res.headers.get("x-correlation-id")).to.equal(received[0]!.correlationId);
  });

  it("when the batch is empty or larger than the maximum, then 422 in the envelope and no service is asked", async () => {
    const token = ctx.token(["tasks:write"]);
    for (const n of [0, MAX_BATCH_TASKS + 1]) {
      const res = await post("/api/v1/tasks/batch", { tasks: tasks(n) }, token);
      expect(res.status).to.equal(422);
      expect(res.body).to.have.all.keys(["error", "code", "detail", "correlation_id"]);
      expect(res.body).to.include({ error: "Unprocessable Entity", code: "VALIDATION_FAILED" });
      expect((res.body.detail as Array<{ path: string }>).map((p) => p.path)).to.deep.equal(["body.tasks"]);
    }
    expect(received).to.have.length(0);
  });

  it("when an item is malformed, then 422 names the item", async () => {
    const res = await post("/api/v1/tasks/batch", { tasks: [{ agent: "echo-bot" }, { agent: "Not A Name" }] }, ctx.token(["tasks:write"]));
    expect(res.status).to.equal(422);
    expect((res.body.detail as Array<{ path: string }>).map((p) => p.path)).to.deep.equal(["body.tasks.1.agent"]);
  });

  it("when the caller lacks tasks:write, then 403", async () => {
    const res = await post("/api/v1/tasks/batch", { tasks: tasks(1) }, ctx.token(["tasks:read"]));
    expect(res.status).to.equal(403);
    expect(res.body).to.include({ code: "FORBIDDEN", detail: "Missing scope: tasks:write" });
  });

  it("when batches are submitted, then each task takes one unit of the task budget and a batch over what is left gets 429 uncharged", async () => {
    const token = ctx.token(["tasks:write"]);
    const first = await post("/api/v1/tasks/batch", { tasks: tasks(4) }, token);
    expect(first.status).to.equal(202);
    expect(first.headers.get("x-ratelimit-limit")).to.equal("10");
    expect(first.headers.get("x-ratelimit-remaining")).to.equal("6");
    expect(first.headers.get("ratelimit")).to.contain('"tasks"').and.contain("r=6");

    const tooMany = await post("/api/v1/tasks/batch", { tasks: tasks(7) }, token);
    expect(tooMany.status).to.equal(429);
    expect(tooMany.body).to.include({ error: "Too Many Requests", code: "RATE_LIMITED" });
    expect(tooMany.body.retry_after).to.be.a("number").above(0);
    expect(Number(tooMany.headers.get("retry-after"))).to.be.above(0);
    expect(tooMany.headers.get("x-ratelimit-remaining")).to.equal("6");

    const rest = await post("/api/v1/tasks/batch", { tasks: tasks(6) }, token);
    expect(rest.status).to.equal(202);
    expect(rest.headers.get("x-ratelimit-remaining")).to.equal("0");
    expect(received.map((r) => (r.payload.tasks as unknown[]).length)).to.deep.equal([4, 6]);

    const single = await post("/api/v1/tasks", { agent: "echo-bot" }, token);
    expect(single.status).to.equal(429);
  });

  it("when the executor does not serve the subject, then 503", async () => {
    await ctx.stop();
    ctx = await new GatewayTestContext().start();
    const res = await post("/api/v1/tasks/batch", { tasks: tasks(1) }, ctx.token(["tasks:write"]));
    expect(res.status).to.equal(503);
    expect(res.body).to.include({ code: "SERVICE_UNAVAILABLE" });
  });
});
