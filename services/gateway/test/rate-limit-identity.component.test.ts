import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Subjects, type Principal } from "@meridian/contracts";
import { GatewayTestContext } from "./gateway-context.js";

type Call = { path: string; method?: string; token?: string; apiKey?: string; xff?: string; body?: unknown };

describe("gateway: rate limits per identity and class", function () {
  this.timeout(30_000);
  let ctx: GatewayTestContext;

  const call = async (c: Call): Promise<number> => {
    const headers: Record<string, string> = {};
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    if (c.apiKey) headers["x-api-key"] = c.apiKey;
    if (c.xff) headers["x-forwarded-for"] = c.xff;
    if (c.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${ctx.gateway.url}${c.path}`, { method: c.method ?? "GET", headers, ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}) });
    await res.arrayBuffer();
    return res.status;
  };
  const statuses = async (n: number, make: (i: number) => Call) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await call(make(i)));
    return out;
  };
  const login = { path: "/api/v1/auth/login", method: "POST", body: { username: "someone", password: "Whatever-1234" } };
  const register = { path: "/api/v1/auth/register", method: "POST", body: { username: "someone_new", email: "someone@example.com", password: "Sturdy-Passw0rd!" } };
  const refresh = { path: "/api/v1/auth/refresh", method: "POST", body: { refresh_token: "r".repeat(40) } };

  const start = async (env: Record<string, string>) => {
    ctx = await new GatewayTestContext().start({ API_KEY_CACHE_MS: "0", ...env });
    ctx.fake(Subjects.agents.list, () => ({ items: [], total: 0 }));
    ctx.fake(Subjects.agents.create, () => ({ name: "x" }));
    ctx.fake(Subjects.auth.login, () => ({ access_token: "a", refresh_token: "r", token_type: "Bearer", expires_in: 900 }));
    ctx.fake(Subjects.auth.register, () => ({ id: randomUUID() }));
    ctx.fake(Subjects.auth.refresh, () => ({ access_token: "a", refresh_token: "r", token_type: "Bearer", expires_in: 900 }));
    ctx.fake(Subjects.auth.apiKeyVerify, (req) => {
      const [sub, keyId] = String(req.payload.key).split(":");
      const principal: Principal = { kind: "api_key", sub: sub!, username: "keyholder", roles: ["user"], scopes: ["agents:read"], keyId: keyId! };
      return principal;
    });
  };
  afterEach(() => ctx?.stop());

  it("when two users call from one IP, then each has a budget of their own", async () => {
    await start({ RATE_LIMIT_DEFAULT_MAX: "2" });
    const ada = ctx.token(["agents:read"]);
    const bob = ctx.token(["agents:read"]);
    expect(await statuses(3, () => ({ path: "/api/v1/agents", token: ada }))).to.deep.equal([200, 200, 429]);
    expect(await statuses(2, () => ({ path: "/api/v1/agents", token: bob }))).to.deep.equal([200, 200]);
  });

  it("when one user rotates addresses behind a trusted proxy, then the budget follows the user", async () => {
    await start({ RATE_LIMIT_DEFAULT_MAX: "2", TRUST_PROXY: "1" });
    const sub = randomUUID();
    // A new token (new session) per call too: the budget is the user's, not the token's.
    const got = await statuses(3, (i) => ({ path: "/api/v1/agents", token: ctx.token(["agents:read"], sub), xff: `198.51.100.${i + 1}` }));
    expect(got).to.deep.equal([200, 200, 429]);
  });

  it("when two API keys of one user call, then each key has a budget of its own", async () => {
    await start({ RATE_LIMIT_DEFAULT_MAX: "1" });
    const sub = randomUUID();
    const [k1, k2] = [`${sub}:${randomUUID()}`, `${sub}:${randomUUID()}`];
    expect(await statuses(2, () => ({ path: "/api/v1/agents", apiKey: k1 }))).to.deep.equal([200, 429]);
    expect(await statuses(1, () => ({ path: "/api/v1/agents", apiKey: k2 }))).to.deep.equal([200]);
  });

  it("when X-Forwarded-For is spoofed and no proxy is trusted, then the client IP does not change", async () => {
    await start({ RATE_LIMIT_AUTH_MAX: "2", TRUST_PROXY: "0" });
    expect(await statuses(3, (i) => ({ ...login, xff: `203.0.113.${i + 1}` }))).to.deep.equal([200, 200, 429]);
  });

  it("when a trusted proxy forwards IPv6 clients, then one /64 shares a budget and the next /64 has its own", async () => {
    await start({ RATE_LIMIT_AUTH_MAX: "2", TRUST_PROXY: "1" });
    expect(await call({ ...login, xff: "2001:db8:1:2::1" })).to.equal(200);
    expect(await call({ ...login, xff: "2001:db8:1:2:ffff:ffff:ffff:fffe" })).to.equal(200);
    expect(await call({ ...login, xff: "2001:db8:1:2:abcd::9" })).to.equal(429);
    expect(await call({ ...login, xff: "2001:db8:1:3::1" })).to.equal(200);
    // Only the last hop is trusted: a client-written entry in front of it changes nothing.
    expect(await call({ ...login, xff: "192.0.2.77, 2001:db8:1:2::5" })).to.equal(429);
  });

  it("when login is exhausted, then register and refresh still have their own budgets", async () => {
    await start({ RATE_LIMIT_AUTH_MAX: "1", RATE_LIMIT_REFRESH_MAX: "2" });
    expect(await statuses(2, () => login)).to.deep.equal([200, 429]);
    expect(await statuses(2, () => register)).to.deep.equal([201, 429]);
    expect(await statuses(3, () => refresh)).to.deep.equal([200, 200, 429]);
  });

  it("when reads are exhausted, then writes still pass, each class with its own limit and window header", async () => {
    await start({ RATE_LIMIT_DEFAULT_MAX: "1", RATE_LIMIT_WRITES_MAX: "2", RATE_LIMIT_WRITES_WINDOW_MS: "120000" });
    const token = ctx.token(["agents:read", "agents:write"]);
    expect(await statuses(2, () => ({ path: "/api/v1/agents", token }))).to.deep.equal([200, 429]);
    const res = await fetch(`${ctx.gateway.url}/api/v1/agents`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "some-agent", runtime: "echo" }),
    });
    expect(res.status).to.equal(201);
    expect(res.headers.get("ratelimit-policy")).to.contain('"writes"').and.contain("q=2").and.contain("w=120");
  });
});
