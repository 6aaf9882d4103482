import { expect } from "chai";
import { randomBytes, randomUUID } from "node:crypto";
import { headers as natsHeaders, type Msg } from "@nats-io/transport-node";
import { Headers, MeridianError, Subjects, type Principal } from "@meridian/contracts";
import { GatewayTestContext } from "./gateway-context.js";

type Call = { path?: string; method?: string; token?: string; apiKey?: string; ip: string; body?: unknown };
type Answer = { status: number; headers: globalThis.Headers; body: Record<string, unknown> };

/**
 * Failed authentication is metered per client IP before the credential is verified (issue 9): a flood of
 * forged tokens and unknown API keys ends in 429s that never reach ES256 verification or auth, while credentials
 * already verified keep working.
 */
describe("gateway: failed authentication is rate-limited per client IP", function () {
  this.timeout(60_000);
  let ctx: GatewayTestContext;
  let verifyCalls: string[];
  let goodKeys: Map<string, Principal>;

  const call = async (c: Call): Promise<Answer> => {
    const headers: Record<string, string> = { "x-forwarded-for": c.ip };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    if (c.apiKey) headers["x-api-key"] = c.apiKey;
    if (c.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${ctx.gateway.url}${c.path ?? "/api/v1/agents"}`, {
      method: c.method ?? "GET",
      headers,
      ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  /** A token with the right header and claims whose signature is not auth's: it takes a full ES256 verification. */
  const forged = () => `${ctx.token(["agents:read"]).split(".").slice(0, 2).join(".")}.${randomBytes(64).toString("base64url")}`;

  /** Auth's api-key-verify played by the test: known keys get their principal, any other key a 401. */
  const fakeApiKeyVerify = () => {
    const sub = ctx.nc.subscribe(Subjects.auth.apiKeyVerify, {
      callback: (_err, msg: Msg) => {
        const { key } = msg.json<{ key: string }>();
        verifyCalls.push(key);
        const principal = goodKeys.get(key);
        if (principal) {
          msg.respond(JSON.stringify(principal));
          return;
        }
        const refusal = new MeridianError("INVALID_TOKEN", "Invalid API key");
        const h = natsHeaders();
        h.set(Headers.serviceError, refusal.message);
        h.set(Headers.serviceErrorCode, String(refusal.status));
        msg.respond(JSON.stringify(refusal.toPayload()), { headers: h });
      },
    });
    return sub;
  };

  const start = async (env: Record<string, string>) => {
    verifyCalls = [];
    goodKeys = new Map();
    ctx = await new GatewayTestContext().start({ TRUST_PROXY: "1", ...env });
    ctx.fake(Subjects.agents.list, () => ({ items: [], total: 0 }));
    const sub = fakeApiKeyVerify();
    await ctx.nc.flush();
    return sub;
  };
  const goodKey = () => {
    const key = `mk_${randomUUID()}`;
    goodKeys.set(key, { kind: "api_key", sub: randomUUID(), username: "keyholder", roles: ["user"], scopes: ["agents:read"], keyId: randomUUID() });
    return key;
  };

  afterEach(() => ctx?.stop());

  it("when one IP floods bad tokens and unknown API keys, then past the budget it gets 429 before verification and auth is asked no more", async () => {
    const sub = await start({ RATE_LIMIT_AUTH_FAILURES_MAX: "30", RATE_LIMIT_AUTH_FAILURES_WINDOW_MS: "60000" });
    const attacker = "203.0.113.9";
    // Credentials the attacker's address used successfully before the flood: verified and cached.
    const cachedToken = ctx.token(["agents:read"]);
    const cachedKey = goodKey();
    expect((await call({ ip: attacker, token: cachedToken })).status).to.equal(200);
    expect((await call({ ip: attacker, apiKey: cachedKey })).status).to.equal(200);
    const verifiesBefore = verifyCalls.length;

    const answers: Answer[] = [];
    for (let i = 0; i < 100; i++) {
      const bad = i % 4 === 0 ? { token: forged() } : i % 4 === 1 ? { token: randomBytes(24).toString("hex") } : { apiKey: `mk_${randomUUID()}` };
      answers.push(await call({ ip: attacker, ...bad }));
    }
    const statuses = answers.map((a) => a.status);
    const verifies = verifyCalls.length - verifiesBefore;
    const summary = `401s: ${statuses.filter((s) => s === 401).length}, 429s: ${statuses.filter((s) => s === 429).length}, api-key verifications: ${verifies}`;
    expect(statuses.slice(0, 30), summary).to.deep.equal(Array(30).fill(401));
    expect(statuses.slice(30), summary).to.deep.equal(Array(70).fill(429));
    // Of the first 30 (the refused ones), those with i % 4 of 2 or 3 were API keys: 14 round trips to auth.
    expect(verifies, summary).to.equal(14);
    const limited = answers[99]!;
    expect(limited.body).to.include({ code: "RATE_LIMITED", error: "Too Many Requests" });
    expect(limited.body.correlation_id).to.be.a("string").and.not.equal("");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).to.be.within(1, 60);
    expect(limited.body.retry_after).to.equal(retryAfter);

    // Already verified credentials on the same address are not slowed, and do not ask auth again.
    expect((await call({ ip: attacker, token: cachedToken })).status).to.equal(200);
    expect((await call({ ip: attacker, apiKey: cachedKey })).status).to.equal(200);
    // Another address has its own budget, for a new token and a new key alike.
    expect((await call({ ip: "198.51.100.20", token: ctx.token(["agents:read"]) })).status).to.equal(200);
    expect((await call({ ip: "198.51.100.20", apiKey: goodKey() })).status).to.equal(200);
    // A credential the attacker's address has not used before would need verifying: it waits like the flood.
    expect((await call({ ip: attacker, apiKey: goodKey() })).status).to.equal(429);
    expect(verifyCalls.length - verifiesBefore).to.equal(15);
    sub.unsubscribe();
  });

  it("when new credentials verify successfully, then they do not spend the failure budget", async () => {
    const sub = await start({ RATE_LIMIT_AUTH_FAILURES_MAX: "2" });
    const ip = "192.0.2.44";
    for (let i = 0; i < 5; i++) {
      expect((await call({ ip, token: ctx.token(["agents:read"]) })).status).to.equal(200);
      expect((await call({ ip, apiKey: goodKey() })).status).to.equal(200);
    }
    // Many at once too: verifications in flight hold nothing of the budget.
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i % 2 ? { ip, apiKey: goodKey() } : { ip, token: ctx.token(["agents:read"]) })));
    expect(together.map((a) => a.status)).to.deep.equal(Array(20).fill(200));
    expect((await call({ ip, token: forged() })).status).to.equal(401);
    expect((await call({ ip, apiKey: "mk_unknown" })).status).to.equal(401);
    expect((await call({ ip, token: forged() })).status).to.equal(429);
    sub.unsubscribe();
  });

  it("when a request carries no credential, then it is a plain 401 that spends nothing", async () => {
    const sub = await start({ RATE_LIMIT_AUTH_FAILURES_MAX: "1" });
    const ip = "192.0.2.45";
    for (let i = 0; i < 3; i++) expect((await call({ ip })).status).to.equal(401);
    expect((await call({ ip, token: forged() })).status).to.equal(401);
    expect((await call({ ip, token: forged() })).status).to.equal(429);
    sub.unsubscribe();
  });

  it("when the failures come from one IPv6 /64 behind the trusted proxy, then the whole /64 waits and the next does not", async () => {
    const sub = await start({ RATE_LIMIT_AUTH_FAILURES_MAX: "2" });
    expect((await call({ ip: "2001:db8:7:1::1", token: forged() })).status).to.equal(401);
    expect((await call({ ip: "2001:db8:7:1:ffff::2", apiKey: "mk_unknown" })).status).to.equal(401);
    expect((await call({ ip: "2001:db8:7:1:abcd::3", token: forged() })).status).to.equal(429);
    // Only the last hop is trusted: an address the client wrote in front of it changes nothing.
    expect((await call({ ip: "192.0.2.99, 2001:db8:7:1::4", token: forged() })).status).to.equal(429);
    expect((await call({ ip: "2001:db8:7:2::1", token: forged() })).status).to.equal(401);
    sub.unsubscribe();
  });

  it("when Redis is unreachable, then failed authentications are still limited in the process's memory", async () => {
    const sub = await start({ RATE_LIMIT_AUTH_FAILURES_MAX: "3", REDIS_URL: "redis://127.0.0.1:1" });
    const ip = "192.0.2.46";
    const cached = ctx.token(["agents:read"]);
    expect((await call({ ip, token: cached })).status).to.equal(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call({ ip, apiKey: `mk_${randomUUID()}` })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
    expect(verifyCalls).to.have.length(3);
    expect((await call({ ip, token: cached })).status).to.equal(200);
    sub.unsubscribe();
  });
});

describe("gateway: responses of the API are never stored by caches", function () {
  this.timeout(30_000);
  let ctx: GatewayTestContext;

  before(async () => {
    ctx = await new GatewayTestContext().start();
    const tokens = { access_token: "a", refresh_token: "r", token_type: "Bearer", expires_in: 900 };
    ctx.fake(Subjects.auth.login, () => tokens);
    ctx.fake(Subjects.auth.refresh, () => tokens);
    ctx.fake(Subjects.auth.me, () => ({ id: randomUUID(), username: "tester", email: "t@example.com", roles: ["user"] }));
    ctx.fake(Subjects.auth.apiKeyCreate, () => ({ id: randomUUID(), name: "ci", key: `mk_${randomUUID()}`, scopes: ["agents:read"] }));
    ctx.fake(Subjects.agents.workerCredentials, () => ({ creds: "-----BEGIN NATS USER JWT-----", expires_at: new Date().toISOString() }));
    ctx.fake(Subjects.agents.list, () => ({ items: [], total: 0 }));
  });
  after(() => ctx?.stop());

  const send = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    fetch(`${ctx.gateway.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });

  const expectNoStore = async (res: Response, status: number) => {
    await res.arrayBuffer();
    expect(res.status, res.url).to.equal(status);
    expect(res.headers.get("cache-control"), res.url).to.equal("no-store");
    expect(res.headers.get("pragma"), res.url).to.equal("no-cache");
  };

  it("when a response carries a secret (API key, worker credentials, tokens), then it says no-store", async () => {
    const token = ctx.token(["api-keys:write", "agents:write"]);
    await expectNoStore(await send("/api/v1/auth/api-keys", { method: "POST", token, body: { name: "ci" } }), 201);
    await expectNoStore(await send("/api/v1/agents/some-agent/worker-credentials", { method: "POST", token }), 201);
    await expectNoStore(await send("/api/v1/auth/login", { method: "POST", body: { username: "someone", password: "Whatever-1234" } }), 200);
    await expectNoStore(await send("/api/v1/auth/refresh", { method: "POST", body: { refresh_token: "r".repeat(40) } }), 200);
  });

  it("when any other API route answers, with data or with an error, then it says no-store too", async () => {
    const token = ctx.token(["profile:read", "agents:read"]);
    await expectNoStore(await send("/api/v1/auth/me", { token }), 200);
    await expectNoStore(await send("/api/v1/agents", { token }), 200);
    await expectNoStore(await send("/api/v1/agents"), 401);
    await expectNoStore(await send("/api/v1/no-such-route", { token }), 404);
  });
});
