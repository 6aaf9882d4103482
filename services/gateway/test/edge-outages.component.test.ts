import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Subjects } from "@meridian/contracts";
import { freePort, startNatsServer, startRedisServer, waitFor, type NatsServerHandle, type RedisServerHandle } from "@meridian/service-kit/testing";
import { GatewayTestContext } from "./gateway-context.js";

interface Timed {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

async function timed(url: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, ms: performance.now() - started };
}

const json = (body: unknown, token?: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

/** Generous for a loaded 2-core machine, and still far below the 5 s the old client waited. */
const PROMPT_MS = 1500;

describe("gateway: outages of Redis and NATS are bounded (private servers)", function () {
  this.timeout(60_000);

  describe("Redis", () => {
    let redis: RedisServerHandle;
    let ctx: GatewayTestContext;
    const get = (token: string) => timed(`${ctx.gateway.url}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } });

    beforeEach(async () => {
      redis = await startRedisServer();
      ctx = await new GatewayTestContext().start({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: "50", RATE_LIMIT_READS_MAX: "3" });
      ctx.fake(Subjects.agents.list, () => ({ items: [], total: 0 }));
      ctx.fake(Subjects.auth.login, () => ({ access_token: "a", refresh_token: "r", token_type: "Bearer", expires_in: 900 }));
      ctx.fake(Subjects.auth.register, () => ({ id: randomUUID() }));
      ctx.fake(Subjects.auth.apiKeyCreate, () => ({ id: randomUUID(), key: "k" }));
    });
    afterEach(async () => {
      await redis.stop();
      await ctx.stop();
    });

    it("when Redis is stopped, then ordinary routes answer at once and login, register and API key creation 503", async () => {
      const token = ctx.token(["agents:read", "api-keys:write"]);
      expect((await get(token)).status).to.equal(200);
      await redis.stop();

      const read = await get(token);
      expect(read.status).to.equal(200);
      expect(read.ms).to.be.below(PROMPT_MS);

      const login = await timed(`${ctx.gateway.url}/api/v1/auth/login`, json({ username: "someone", password: "Whatever-1234" }));
      expect(login.status).to.equal(503);
      expect(login.body).to.include({ code: "SERVICE_UNAVAILABLE" });
      expect(login.ms).to.be.below(PROMPT_MS);
      const register = await timed(`${ctx.gateway.url}/api/v1/auth/register`, json({ username: "someone_new", email: "someone@example.com", password: "Sturdy-Passw0rd!" }));
      expect(register.status).to.equal(503);
      const key = await timed(`${ctx.gateway.url}/api/v1/auth/api-keys`, json({ name: "ci" }, token));
      expect(key.status).to.equal(503);
      await waitFor(() => ctx.logs.lines.some((l) => l.level === "warn" && String(l.message).startsWith("rate limit store unavailable")), { what: "the warning" });
    });

    it("when Redis is stopped, then each process still limits per identity in memory", async () => {
      await redis.stop();
      const token = ctx.token(["agents:read"]);
      for (let i = 0; i < 3; i++) expect((await get(token)).status).to.equal(200);
      const fourth = await get(token);
      expect(fourth.status).to.equal(429);
      expect(fourth.body).to.include({ code: "RATE_LIMITED" });
      expect((await get(ctx.token(["agents:read"]))).status).to.equal(200);
    });

    it("when Redis hangs (accepts, never answers), then each call still answers within the command timeout", async () => {
      const token = ctx.token(["agents:read"]);
      expect((await get(token)).status).to.equal(200);
      redis.pause();
      try {
        const reads = await Promise.all([get(token), get(token)]);
        for (const r of reads) {
          expect(r.status).to.equal(200);
          expect(r.ms).to.be.below(PROMPT_MS);
        }
        const login = await timed(`${ctx.gateway.url}/api/v1/auth/login`, json({ username: "someone", password: "Whatever-1234" }));
        expect(login.status).to.equal(503);
      } finally {
        redis.resume();
      }
    });
  });

  describe("Redis absent at start", () => {
    let ctx: GatewayTestContext | undefined;
    afterEach(() => ctx?.stop());

    it("when Redis is not there at start, then the gateway starts anyway, serves ordinary routes and refuses login", async () => {
      const nobody = await freePort();
      const starting = new GatewayTestContext().start({ REDIS_URL: `redis://127.0.0.1:${nobody}` });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the gateway did not start without Redis")), 10_000));
      ctx = await Promise.race([starting, timeout]);
      ctx.fake(Subjects.agents.list, () => ({ items: [], total: 0 }));
      const read = await timed(`${ctx.gateway.url}/api/v1/agents`, { headers: { authorization: `Bearer ${ctx.token(["agents:read"])}` } });
      expect(read.status).to.equal(200);
      const login = await timed(`${ctx.gateway.url}/api/v1/auth/login`, json({ username: "someone", password: "Whatever-1234" }));
      expect(login.status).to.equal(503);
      const ready = await timed(`${ctx.gateway.url}/health/ready`);
      expect(ready.status).to.equal(503);
    });
  });

  describe("NATS", () => {
    const storeDir = mkdtempSync(join(tmpdir(), "meridian-gw-outage-"));
    let nats: NatsServerHandle;
    let ctx: GatewayTestContext;

    before(async () => {
      nats = await startNatsServer({ storeDir });
      ctx = await new GatewayTestContext(nats.url).start({ NATS_REQUEST_TIMEOUT_MS: "5000" });
      ctx.fake(Subjects.agents.list, () => ({ items: [], total: 0 }));
    });
    after(async () => {
      if (nats.process.exitCode !== null || nats.process.signalCode !== null) nats = await startNatsServer({ port: nats.port, storeDir });
      await ctx.stop();
      await nats.stop();
      rmSync(storeDir, { recursive: true, force: true });
    });

    it("when NATS is disconnected, then a forwarded call answers 503 at once, not 504 after the timeout", async () => {
      const token = ctx.token(["agents:read"]);
      const before = await timed(`${ctx.gateway.url}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
      expect(before.status).to.equal(200);
      await nats.stop();
      // The gateway notices the closed socket at once; give it the moment it takes.
      await waitFor(async () => (await fetch(`${ctx.gateway.url}/health/ready`)).status === 503, { what: "readiness to notice" });

      const during = await timed(`${ctx.gateway.url}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
      expect(during.status).to.equal(503);
      expect(during.body).to.include({ error: "Service Unavailable", code: "SERVICE_UNAVAILABLE" });
      expect(during.ms).to.be.below(PROMPT_MS);

      nats = await startNatsServer({ port: nats.port, storeDir });
      await waitFor(async () => (await timed(`${ctx.gateway.url}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } })).status === 200, {
        timeoutMs: 20_000,
        what: "calls to pass again after the reconnect",
      });
    });
  });
});
