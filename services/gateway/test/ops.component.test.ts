import { expect } from "chai";
import { Subjects } from "@meridian/contracts";
import { GatewayTestContext } from "./gateway-context.js";

describe("gateway: ops port and HTTP metrics", function () {
  const ctx = new GatewayTestContext();
  let ops: string;

  before(async () => {
    await ctx.start({ METRICS_PORT: "0", METRICS_HOST: "127.0.0.1" });
    ops = ctx.gateway.ops!.url!;
    ctx.fake(Subjects.tasks.get, (r) => ({ id: r.payload.id, status: "queued" }));
  });
  after(() => ctx.stop());

  it("when requests were answered, then /metrics on the ops port counts them by route pattern and status, and the API port has no /metrics", async () => {
    const id = "0f8b5d1e-1c2a-4b3c-9d4e-5f6a7b8c9d0e";
    const res = await fetch(`${ctx.gateway.url}/api/v1/tasks/${id}`, { headers: { authorization: `Bearer ${ctx.token(["tasks:read"])}` } });
    expect(res.status).to.equal(200);
    expect((await fetch(`${ctx.gateway.url}/metrics`)).status).to.equal(404);

    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(text).to.match(/^meridian_http_requests_total\{method="GET",route="\/api\/v1\/tasks\/:id",status="200",service="gateway"\} 1$/m);
    expect(text).to.match(/^meridian_http_requests_total\{method="GET",route="unmatched",status="404",service="gateway"\} 1$/m);
    const count = text.split("\n").find((l) => l.startsWith("meridian_http_request_duration_seconds_count{") && l.includes('route="/api/v1/tasks/:id"') && l.includes('status="200"'));
    expect(count, "latency histogram of the route").to.match(/ 1$/);
    expect(text).to.not.include(id);
  });

  it("when NATS and the revocation watch answer, then /readyz is 200 and /healthz 200", async () => {
    expect((await fetch(`${ops}/healthz`)).status).to.equal(200);
    const ready = await fetch(`${ops}/readyz`);
    expect(ready.status).to.equal(200);
  });
});
