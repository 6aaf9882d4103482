import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Kvm } from "@nats-io/kv";
import { Buckets, RevokedEntryKeys, Subjects } from "@meridian/contracts";
import { startNatsServer, waitFor, type NatsServerHandle } from "@meridian/service-kit/testing";
import { GatewayTestContext } from "./gateway-context.js";

describe("gateway: the revocation watch (private nats-server)", function () {
  this.timeout(60_000);
  const storeDir = mkdtempSync(join(tmpdir(), "meridian-gw-nats-"));
  let server: NatsServerHandle;
  let ctx: GatewayTestContext;

  const readiness = async () => {
    const res = await fetch(`${ctx.gateway.url}/health/ready`);
    return ((await res.json()) as { checks: Record<string, { status: string }> }).checks;
  };
  const me = (token: string) => fetch(`${ctx.gateway.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    server = await startNatsServer({ storeDir });
    ctx = await new GatewayTestContext(server.url).start();
  });
  after(async () => {
    await ctx.stop();
    await server.stop();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it("when NATS goes away, then readiness reports the watch down, and up again once it is back and caught up", async () => {
    expect((await readiness()).revocations).to.deep.equal({ status: "ok" });
    await server.stop();
    await waitFor(async () => (await readiness()).revocations?.status === "fail", { what: "revocations to fail readiness" });
    server = await startNatsServer({ port: server.port, storeDir });
    await waitFor(async () => (await readiness()).revocations?.status === "ok", { timeoutMs: 20_000, what: "revocations to be ready again" });
  });

  it("when a session is revoked in the bucket, then a cached token of that session is refused", async () => {
    const sid = "0c8a2b9e-54c1-4f55-9b0b-6a3c9f1e2d7a";
    const token = ctx.token(["profile:read"], undefined, sid);
    ctx.fake(Subjects.auth.me, () => ({ ok: true }));
    expect((await me(token)).status).to.equal(200);
    const kv = await new Kvm(ctx.nc).open(Buckets.revokedSessions);
    await kv.put(RevokedEntryKeys.session(sid), new Date().toISOString());
    await waitFor(async () => (await me(token)).status === 401, { timeoutMs: 1000, what: "the cached token to be refused" });
    const refused = (await (await me(token)).json()) as Record<string, unknown>;
    expect(refused).to.include({ code: "TOKEN_REVOKED", detail: "Token has been revoked" });
  });
});
