import { expect } from "chai";
import { waitFor } from "@meridian/service-kit/testing";
import { http, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

describe("e2e: the gateway's credential cache and revocations", function () {
  this.timeout(60_000);
  const stack = new Stack();
  const cached = { API_KEY_CACHE_MS: "60000" };
  let a: Awaited<ReturnType<Stack["startGateway"]>>;
  let b: Awaited<ReturnType<Stack["startGateway"]>>;

  before(async () => {
    await stack.start();
    [a, b] = await Promise.all([stack.startGateway(cached), stack.startGateway(cached)]);
  });
  after(() => stack.stop());

  it("when a cached API key is revoked through one replica, then it stops there at once and on the other within a second", async () => {
    const me = await signUp(stack.gatewayUrl);
    const created = await http(a.url, "POST", "/api/v1/auth/api-keys", { token: me.token, body: { name: "cached", scopes: ["profile:read"] } });
    const headers = { "x-api-key": created.body.key as string };
    expect((await http(a.url, "GET", "/api/v1/auth/me", { headers })).status).to.equal(200);
    expect((await http(b.url, "GET", "/api/v1/auth/me", { headers })).status).to.equal(200);

    const revoked = await http(a.url, "DELETE", `/api/v1/auth/api-keys/${created.body.id as string}`, { token: me.token });
    expect(revoked.status).to.equal(200);
    const refused = await http(a.url, "GET", "/api/v1/auth/me", { headers });
    expect(refused.status).to.equal(401);
    expect(refused.body).to.include({ code: "TOKEN_REVOKED", detail: "API key has been revoked" });
    await waitFor(async () => (await http(b.url, "GET", "/api/v1/auth/me", { headers })).status === 401, { timeoutMs: 2000, what: "the other replica to refuse the key" });
  });

  it("when a session logs out through one replica, then its cached access token is refused on both", async () => {
    const me = await signUp(stack.gatewayUrl);
    for (const g of [a, b]) expect((await http(g.url, "GET", "/api/v1/auth/me", { token: me.token })).status).to.equal(200);
    expect((await http(a.url, "POST", "/api/v1/auth/logout", { token: me.token })).status).to.equal(200);
    expect((await http(a.url, "GET", "/api/v1/auth/me", { token: me.token })).body).to.include({ code: "TOKEN_REVOKED" });
    await waitFor(async () => (await http(b.url, "GET", "/api/v1/auth/me", { token: me.token })).body.code === "TOKEN_REVOKED", {
      timeoutMs: 2000,
      what: "the other replica to refuse the token",
    });
  });

  it("when a gateway starts after a revocation, then the revocation is loaded before it listens", async () => {
    const me = await signUp(stack.gatewayUrl);
    expect((await http(a.url, "POST", "/api/v1/auth/logout", { token: me.token })).status).to.equal(200);
    const late = await stack.startGateway(cached);
    try {
      expect((await http(late.url, "GET", "/api/v1/auth/me", { token: me.token })).body).to.include({ code: "TOKEN_REVOKED" });
      const ready = await http(late.url, "GET", "/health/ready");
      expect((ready.body.checks as Record<string, { status: string }>).revocations).to.deep.equal({ status: "ok" });
    } finally {
      await late.stop();
    }
  });
});
