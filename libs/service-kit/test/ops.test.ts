import { expect } from "chai";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { MeridianError } from "@meridian/contracts";
import { createLogger, endpointsSettled, requestJson, serveEndpoint, ServiceMetrics, startOpsServer, type OpsServer } from "../src/index.js";
import { testInfra, uniqueName } from "../src/testing.js";

const logger = createLogger({ service: "test", silent: true });

describe("service kit: ops server and endpoint metrics", function () {
  let nc: NatsConnection;
  let ops: OpsServer;
  const metrics = new ServiceMetrics("kit-test");
  let dbUp = true;

  before(async () => {
    nc = await connect({ servers: testInfra.natsUrl });
    ops = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      metrics,
      logger,
      checks: { nats: async () => void (await nc.flush()), postgres: async () => void (dbUp || (await Promise.reject(new Error("down")))) },
    });
  });
  after(async () => {
    await ops.close();
    await nc.close();
  });

  it("when METRICS_PORT is unset, then no server is started", async () => {
    const off = await startOpsServer({ port: undefined, host: "127.0.0.1", metrics, logger, checks: {} });
    expect(off.url).to.equal(undefined);
    await off.close();
  });

  it("when an endpoint answers and refuses, then requests, errors by code and latency are counted by subject", async () => {
    const subject = `kit.${uniqueName("ops")}.echo`;
    const { subscription } = serveEndpoint(
      nc,
      "kit",
      logger,
      {
        subject,
        handler: ({ data }) => {
          if ((data as { fail?: boolean }).fail) throw new MeridianError("NOT_FOUND", "nope");
          return data;
        },
      },
      metrics,
    );
    await requestJson(nc, subject, { a: 1 }, { timeoutMs: 2000 });
    await requestJson(nc, subject, { fail: true }, { timeoutMs: 2000 }).catch(() => undefined);
    const text = await (await fetch(`${ops.url}/metrics`)).text();
    const line = (name: string, labels: string) => text.split("\n").find((l) => l.startsWith(`${name}{`) && labels.split(",").every((p) => l.includes(p)));
    expect(line("meridian_nats_requests_total", `subject="${subject}"`)).to.match(/ 2$/);
    expect(line("meridian_nats_request_errors_total", `subject="${subject}",code="NOT_FOUND"`)).to.match(/ 1$/);
    expect(line("meridian_nats_request_duration_seconds_count", `subject="${subject}"`)).to.match(/ 2$/);
    expect(line("process_cpu_user_seconds_total", 'service="kit-test"')).to.be.a("string");
    subscription.unsubscribe();
  });

  it("when a check fails, then /readyz is 503 naming it; once shutdown began, 503 whatever the checks say", async () => {
    expect((await fetch(`${ops.url}/readyz`)).status).to.equal(200);
    dbUp = false;
    const failing = await fetch(`${ops.url}/readyz`);
    expect(failing.status).to.equal(503);
    expect(((await failing.json()) as { failing: string[] }).failing).to.deep.equal(["postgres"]);
    dbUp = true;
    ops.shuttingDown();
    const stopping = await fetch(`${ops.url}/readyz`);
    expect(stopping.status).to.equal(503);
    expect(((await stopping.json()) as { failing: string[] }).failing).to.deep.equal(["shutdown"]);
    expect((await fetch(`${ops.url}/healthz`)).status).to.equal(200);
  });

  it("when intake stops while a request is being handled, then endpointsSettled waits for its reply before the connection drains", async () => {
    const own = await connect({ servers: testInfra.natsUrl });
    const subject = `kit.${uniqueName("ops")}.slow`;
    const { subscription } = serveEndpoint(own, "kit", logger, { subject, handler: () => new Promise((r) => setTimeout(() => r({ late: true }), 300)) });
    await own.flush();
    const reply = requestJson<{ late: boolean }>(nc, subject, {}, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    await subscription.drain();
    expect(await endpointsSettled(own, 5000)).to.equal(true);
    await own.drain();
    expect(await reply).to.deep.equal({ late: true });
  });
});
