import { expect } from "chai";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Subjects } from "@meridian/contracts";
import { testInfra, waitFor } from "@meridian/service-kit/testing";
import { http, newUser } from "../support/http.js";
import { Stack } from "../support/stack.js";

describe("e2e: the gateway edge", function () {
  const stack = new Stack();
  const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stack.gatewayUrl, method, path, options);

  before(() => stack.start());
  after(() => stack.stop());

  it("when / is asked, then name, version and links", async () => {
    const res = await call("GET", "/");
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ name: "meridian-gateway", version: "0.1.0" });
    expect(res.body.links).to.include({ docs: "/api/docs", openapi: "/api/openapi.json" });
  });

  it("when health and readiness are asked with everything up, then both are 200", async () => {
    expect((await call("GET", "/health")).body).to.deep.equal({ status: "ok" });
    const ready = await call("GET", "/health/ready");
    expect(ready.status).to.equal(200);
    expect(Object.keys(ready.body.checks as object)).to.have.members(["nats", "redis", "revocations", "service:auth"]);
  });

  it("when any response goes out, then it carries the security headers", async () => {
    const res = await call("GET", "/health");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).to.contain("default-src 'self'").and.contain("frame-ancestors 'none'").and.contain("object-src 'none'");
    expect(res.headers.get("x-frame-options")).to.equal("DENY");
    expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
    expect(res.headers.get("referrer-policy")).to.equal("strict-origin-when-cross-origin");
    expect(res.headers.get("permissions-policy")).to.equal("geolocation=(), microphone=(), camera=(), payment=(), usb=()");
    expect(res.headers.get("strict-transport-security")).to.equal(null);
    expect(res.headers.get("x-powered-by")).to.equal(null);
  });

  it("when NODE_ENV is production, then HSTS is sent too", async () => {
    const prod = await stack.startGateway({ NODE_ENV: "production" });
    const res = await http(prod.url, "GET", "/health");
    expect(res.headers.get("strict-transport-security")).to.equal("max-age=31536000; includeSubDomains");
    await prod.stop();
  });

  describe("correlation id and timing", () => {
    it("when a sane X-Correlation-ID is sent, then it is echoed and reaches the auth service's log", async () => {
      const id = `e2e-corr-${Date.now()}`;
      const res = await call("POST", "/api/v1/auth/register", { body: newUser(), headers: { "x-correlation-id": id } });
      expect(res.status).to.equal(201);
      expect(res.headers.get("x-correlation-id")).to.equal(id);
      await waitFor(() => stack.auth!.lines.some((l) => l.correlation_id === id && l.message === "user registered"), { what: "auth log line" });
      await waitFor(() => stack.gateway.lines.some((l) => l.correlation_id === id && l.message === "request" && l.status === 201), { what: "gateway access log" });
    });

    it("when the id is unsafe, then a fresh one replaces it", async () => {
      const res = await call("GET", "/health", { headers: { "x-correlation-id": "bad id\twith spaces<script>" } });
      expect(res.headers.get("x-correlation-id")).to.match(/^[0-9a-f-]{36}$/);
    });

    it("when a response goes out, then X-Process-Time gives milliseconds like 12.34ms", async () => {
      const res = await call("GET", "/health");
      const value = res.headers.get("x-process-time") ?? "";
      expect(value).to.match(/^\d+\.\d{2}ms$/);
      expect(parseFloat(value)).to.be.within(0, 1000);
    });

    it("when a request takes longer than SLOW_REQUEST_MS, then a warning is logged with its timing", async () => {
      const strict = await stack.startGateway({ SLOW_REQUEST_MS: "1" });
      await http(strict.url, "POST", "/api/v1/auth/register", { body: newUser(), headers: { "x-correlation-id": "slow-req-1" } });
      const line = await waitFor(() => strict.lines.find((l) => l.message === "slow request" && l.correlation_id === "slow-req-1"), { what: "slow request warning" });
      expect(line).to.include({ level: "warn", threshold_ms: 1, path: "/api/v1/auth/register" });
      expect(line.duration_ms).to.be.a("number").above(1);
      await strict.stop();
    });

    it("when a request is logged, then no token or password appears in any log line", async () => {
      const user = newUser("Never-Logged-Pass-1!");
      await call("POST", "/api/v1/auth/register", { body: user });
      const login = await call("POST", "/api/v1/auth/login", { body: { username: user.username, password: user.password } });
      await call("GET", "/api/v1/auth/me", { token: login.body.access_token as string });
      const everything = [...stack.gateway.raw, ...stack.auth!.raw].join("\n");
      expect(everything).to.not.contain("Never-Logged-Pass-1!");
      expect(everything).to.not.contain(login.body.access_token as string);
      expect(everything).to.not.contain(login.body.refresh_token as string);
    });
  });

  describe("CORS", () => {
    it("when a configured origin sends a preflight, then it is allowed with credentials", async () => {
      const res = await call("OPTIONS", "/api/v1/auth/login", {
        headers: { origin: "http://app.example.test", "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
      expect(res.status).to.equal(204);
      expect(res.headers.get("access-control-allow-origin")).to.equal("http://app.example.test");
      expect(res.headers.get("access-control-allow-credentials")).to.equal("true");
      expect(res.headers.get("access-control-allow-methods")).to.contain("POST");
      expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).to.contain("authorization");
    });

    it("when a real request comes from that origin, then correlation and rate-limit headers are exposed", async () => {
      const res = await call("GET", "/health", { headers: { origin: "http://app.example.test" } });
      expect(res.headers.get("access-control-expose-headers")).to.contain("X-Correlation-ID").and.contain("RateLimit");
    });

    it("when another origin asks, then no CORS header is granted", async () => {
      const res = await call("OPTIONS", "/api/v1/auth/login", { headers: { origin: "http://evil.test", "access-control-request-method": "POST" } });
      expect(res.headers.get("access-control-allow-origin")).to.equal(null);
    });
  });

  describe("the error envelope", () => {
    const envelopeKeys = ["error", "code", "detail", "correlation_id"];

    it("when the route is unknown, then 404 in the envelope", async () => {
      const res = await call("GET", "/api/v1/nothing-here");
      expect(res.status).to.equal(404);
      expect(res.body).to.have.all.keys(envelopeKeys);
      expect(res.body.error).to.equal("Not Found");
    });

    it("when the JSON is malformed, then 400 without a stack trace", async () => {
      const res = await call("POST", "/api/v1/auth/login", { rawBody: '{"username": ', headers: { "content-type": "application/json" } });
      expect(res.status).to.equal(400);
      expect(res.body).to.have.all.keys(envelopeKeys);
      expect(res.text).to.not.match(/at .*\.js|SyntaxError|node_modules/);
    });

    it("when the body is too large, then 413", async () => {
      const res = await call("POST", "/api/v1/auth/login", { body: { username: "a", password: "x".repeat(200_000) } });
      expect(res.status).to.equal(413);
      expect(res.body.code).to.equal("PAYLOAD_TOO_LARGE");
    });

    it("when the body is not JSON, then 415", async () => {
      const res = await call("POST", "/api/v1/auth/login", { rawBody: "username=a", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expect(res.status).to.equal(415);
    });
  });

  describe("rate limiting", () => {
    it("when a client exceeds its class limit across two replicas, then 429 with retry_after and headers", async () => {
      const limited = { RATE_LIMIT_AUTH_MAX: "3", RATE_LIMIT_PREFIX: `${stack.rateLimitPrefix}shared:` };
      const a = await stack.startGateway(limited);
      const b = await stack.startGateway(limited);
      const body = { username: "nobody-at-all", password: "Wrong-passw0rd!!" };
      const first = await http(a.url, "POST", "/api/v1/auth/login", { body });
      expect(first.headers.get("x-ratelimit-limit")).to.equal("3");
      expect(first.headers.get("x-ratelimit-remaining")).to.equal("2");
      expect(first.headers.get("ratelimit-policy")).to.contain("q=3");
      expect(first.headers.get("ratelimit")).to.contain("r=2");
      await http(a.url, "POST", "/api/v1/auth/login", { body });
      await http(b.url, "POST", "/api/v1/auth/login", { body });
      const blocked = await http(b.url, "POST", "/api/v1/auth/login", { body });
      expect(blocked.status).to.equal(429);
      expect(blocked.body).to.include({ error: "Too Many Requests", code: "RATE_LIMITED" });
      expect(blocked.body.retry_after).to.be.a("number").above(0);
      expect(Number(blocked.headers.get("retry-after"))).to.be.above(0);
      expect(blocked.headers.get("x-ratelimit-remaining")).to.equal("0");
      const otherClass = await http(b.url, "GET", "/health/ready");
      expect(otherClass.status).to.equal(200);
      await Promise.all([a.stop(), b.stop()]);
    });
  });

  describe("when the owning service is down or slow", () => {
    let nc: NatsConnection;
    before(async () => {
      nc = await connect({ servers: testInfra.natsUrl });
    });
    after(() => nc.close());

    it("when auth is not running, then 503 and readiness names it", async () => {
      const lone = new Stack();
      await lone.start({ auth: false });
      try {
        await stack.auth!.stop();
        const res = await http(lone.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: "someone", password: "Whatever-1234" } });
        expect(res.status).to.equal(503);
        expect(res.body).to.include({ error: "Service Unavailable", code: "SERVICE_UNAVAILABLE" });
        const ready = await http(lone.gatewayUrl, "GET", "/health/ready");
        expect(ready.status).to.equal(503);
        expect((ready.body.checks as Record<string, { status: string }>)["service:auth"]?.status).to.equal("fail");
      } finally {
        await lone.stop();
        await stack.auth!.start("auth service started");
      }
    });

    it("when a responder never answers, then 504", async () => {
      await stack.auth!.stop();
      const silent = nc.subscribe(Subjects.auth.login, { queue: "auth", callback: () => undefined });
      const slow = await stack.startGateway({ NATS_REQUEST_TIMEOUT_MS: "300" });
      try {
        const res = await http(slow.url, "POST", "/api/v1/auth/login", { body: { username: "someone", password: "Whatever-1234" } });
        expect(res.status).to.equal(504);
        expect(res.body).to.include({ error: "Gateway Timeout", code: "TIMEOUT" });
      } finally {
        silent.unsubscribe();
        await slow.stop();
        await stack.auth!.start("auth service started");
      }
    });
  });
});
