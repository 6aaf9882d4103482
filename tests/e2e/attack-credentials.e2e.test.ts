import { createPrivateKey, randomUUID } from "node:crypto";
import { expect } from "chai";
import { decodeProtectedHeader, SignJWT } from "jose";
import { io } from "socket.io-client";
import { startNatsServer, waitFor, type NatsServerHandle } from "@meridian/service-kit/testing";
import { http, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

type Refusal = Error & { data?: { code?: string } };

/** Forged, malformed and revoked credentials against the gateway and realtime, which share one verifier. */
describe("e2e attack: credentials", function () {
  this.timeout(90_000);
  const stack = new Stack();
  const cached = { API_KEY_CACHE_MS: "60000" };
  let a: Awaited<ReturnType<Stack["startGateway"]>>;
  let b: Awaited<ReturnType<Stack["startGateway"]>>;

  before(async () => {
    await stack.start({ realtime: 1, gatewayEnv: cached });
    [a, b] = await Promise.all([stack.startGateway(cached), stack.startGateway(cached)]);
  });
  after(() => stack.stop());

  const me = (headers: Record<string, string>, base = stack.gatewayUrl) => http(base, "GET", "/api/v1/auth/me", { headers });

  function handshake(auth: Record<string, unknown>): Promise<Refusal | "connected"> {
    const socket = io(stack.realtimes[0]!.url, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
    return new Promise((resolve) => {
      socket.once("connect", () => (socket.disconnect(), resolve("connected")));
      socket.once("connect_error", (err: Refusal) => (socket.disconnect(), resolve(err)));
    });
  }

  describe("access tokens must be access tokens (RFC 8725 / RFC 9068)", () => {
    let user: Awaited<ReturnType<typeof signUp>>;
    before(async () => (user = await signUp(stack.gatewayUrl)));

    /** Signed with auth's real key for a real user: only the property under test is wrong. */
    const forge = (opts: { typ?: string | null; exp?: boolean; iat?: number | null }) => {
      const jwt = new SignJWT({ username: user.username, roles: ["user"], scope: "profile:read", sid: randomUUID() })
        .setProtectedHeader({ alg: "ES256", kid: stack.key.kid, ...(opts.typ === null ? {} : { typ: opts.typ ?? "at+jwt" }) })
        .setSubject(user.id)
        .setIssuer("meridian-auth")
        .setAudience("meridian-api");
      if (opts.iat !== null) jwt.setIssuedAt(opts.iat ?? Math.floor(Date.now() / 1000) - 10);
      if (opts.exp !== false) jwt.setExpirationTime("10m");
      return jwt.sign(createPrivateKey(stack.key.pem));
    };

    it("when auth issues an access token, then its header says typ at+jwt and it carries exp and iat", async () => {
      const { token } = await signUp(stack.gatewayUrl);
      expect(decodeProtectedHeader(token).typ).to.equal("at+jwt");
      const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
      expect(payload.exp).to.be.a("number");
      expect(payload.iat).to.be.a("number");
    });

    it("when a correctly signed token is complete, then both the gateway and realtime accept it", async () => {
      const token = await forge({});
      expect((await me({ authorization: `Bearer ${token}` })).status).to.equal(200);
      expect(await handshake({ token })).to.equal("connected");
    });

    for (const [name, opts] of [
      ["has no exp", { exp: false }],
      ["has no iat", { iat: null }],
      ["was issued in the future", { iat: Math.floor(Date.now() / 1000) + 3600 }],
      ["has no typ", { typ: null }],
      ["is typed JWT, not at+jwt", { typ: "JWT" }],
    ] as const) {
      it(`when a correctly signed token ${name}, then the gateway answers 401 and realtime refuses the handshake`, async () => {
        const token = await forge(opts);
        const res = await me({ authorization: `Bearer ${token}` });
        expect(res.status).to.equal(401);
        expect(res.body).to.include({ code: "INVALID_TOKEN" });
        expect(((await handshake({ token })) as Refusal).data?.code).to.equal("INVALID_TOKEN");
      });
    }
  });

  describe("API keys: errors that say what happened", () => {
    it("when the API key is unknown, then 401 INVALID_TOKEN 'Invalid API key' at the gateway and in the handshake", async () => {
      const res = await me({ "x-api-key": `mk_${"x".repeat(40)}` });
      expect(res.status).to.equal(401);
      expect(res.body).to.include({ code: "INVALID_TOKEN", detail: "Invalid API key" });
      const refused = (await handshake({ apiKey: `mk_${"x".repeat(40)}` })) as Refusal;
      expect([refused.data?.code, refused.message]).to.deep.equal(["INVALID_TOKEN", "Invalid API key"]);
    });

    it("when the API key is far too long, then 401 INVALID_TOKEN without echoing where it was", async () => {
      const res = await me({ "x-api-key": `mk_${"x".repeat(5000)}` });
      expect(res.status).to.equal(401);
      expect(res.body).to.include({ code: "INVALID_TOKEN", detail: "Invalid API key" });
    });

    it("when the API key was revoked, then 401 TOKEN_REVOKED 'API key has been revoked', also on a replica that had it cached", async () => {
      const owner = await signUp(stack.gatewayUrl);
      const created = await http(a.url, "POST", "/api/v1/auth/api-keys", { token: owner.token, body: { name: "k", scopes: ["profile:read"] } });
      const headers = { "x-api-key": created.body.key as string };
      expect((await me(headers, b.url)).status).to.equal(200);
      expect((await http(a.url, "DELETE", `/api/v1/auth/api-keys/${created.body.id as string}`, { token: owner.token })).status).to.equal(200);
      for (const base of [a.url, stack.gatewayUrl]) {
        const res = await me(headers, base);
        expect(res.status).to.equal(401);
        expect(res.body).to.include({ code: "TOKEN_REVOKED", detail: "API key has been revoked" });
      }
      await waitFor(async () => (await me(headers, b.url)).body.code === "TOKEN_REVOKED", { timeoutMs: 5000, what: "the caching replica to refuse the key" });
    });

    it("when an API key cached by two gateway replicas is revoked, then both refuse it within a second", async () => {
      const owner = await signUp(stack.gatewayUrl);
      const created = await http(a.url, "POST", "/api/v1/auth/api-keys", { token: owner.token, body: { name: "k2", scopes: ["profile:read"] } });
      const headers = { "x-api-key": created.body.key as string };
      for (const g of [a, b]) expect((await me(headers, g.url)).status).to.equal(200);
      expect((await http(stack.gatewayUrl, "DELETE", `/api/v1/auth/api-keys/${created.body.id as string}`, { token: owner.token })).status).to.equal(200);
      const at = Date.now();
      const refusedAt = await Promise.all(
        [a, b].map(async (g) => {
          await waitFor(async () => (await me(headers, g.url)).status === 401, { timeoutMs: 5000, what: "the replica to refuse the key" });
          return Date.now() - at;
        }),
      );
      expect(Math.max(...refusedAt), "ms until the last replica refused the key").to.be.at.most(1000);
    });
  });

  describe("auth unreachable (a private nats-server, so no other stack's auth answers)", () => {
    let nats: NatsServerHandle;
    let lonely: Stack;
    let gateway: Awaited<ReturnType<Stack["startGateway"]>>;
    let token: string;
    let key: string;

    before(async () => {
      nats = await startNatsServer();
      lonely = new Stack(nats.url);
      await lonely.start();
      const owner = await signUp(lonely.gatewayUrl);
      token = owner.token;
      key = (await http(lonely.gatewayUrl, "POST", "/api/v1/auth/api-keys", { token, body: { name: "k", scopes: ["profile:read"] } })).body.key as string;
      await lonely.auth!.stop();
      gateway = await lonely.startGateway();
    });
    after(async () => {
      await lonely?.stop();
      await nats?.stop();
    });

    it("when auth cannot be reached, then a valid token or key gets 503, not 401", async () => {
      for (const headers of [{ authorization: `Bearer ${token}` }, { "x-api-key": key }] as Array<Record<string, string>>) {
        const res = await me(headers, gateway.url);
        expect(res.status, JSON.stringify(res.body)).to.equal(503);
        expect(res.body).to.include({ code: "SERVICE_UNAVAILABLE" });
      }
    });
  });
});
