import { createPrivateKey } from "node:crypto";
import { expect } from "chai";
import { SignJWT } from "jose";
import { http, newUser, signUp } from "../support/http.js";
import { signingKey, Stack } from "../support/stack.js";

interface Tokens { access_token: string; refresh_token: string; token_type: string; expires_in: number }

describe("e2e: auth through the gateway", function () {
  const stack = new Stack();
  const call = <T = Record<string, unknown>>(method: string, path: string, options?: Parameters<typeof http>[3]) =>
    http<T>(stack.gatewayUrl, method, path, options);

  before(() => stack.start());
  after(() => stack.stop());

  const signedIn = () => signUp(stack.gatewayUrl);

  it("when a user registers, then 201 with the user and no secret", async () => {
    const user = newUser();
    const res = await call("POST", "/api/v1/auth/register", { body: user });
    expect(res.status).to.equal(201);
    expect(res.body).to.include({ username: user.username, email: user.email });
    expect(res.body.roles).to.deep.equal(["user"]);
    expect(res.text).to.not.contain(user.password);
  });

  it("when the username is taken, then 409 in the error envelope", async () => {
    const { user } = await signedIn();
    const res = await call("POST", "/api/v1/auth/register", { body: { ...newUser(), username: user.username } });
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ error: "Conflict", code: "USERNAME_TAKEN", detail: "That username is taken" });
    expect(res.body.correlation_id).to.be.a("string").and.equal(res.headers.get("x-correlation-id"));
  });

  it("when the body is invalid, then 422 lists every problem", async () => {
    const res = await call("POST", "/api/v1/auth/register", { body: { username: "x", email: "not-an-email", role: "admin" } });
    expect(res.status).to.equal(422);
    expect(res.body.error).to.equal("Unprocessable Entity");
    const paths = (res.body.detail as Array<{ path: string }>).map((p) => p.path);
    expect(paths).to.include.members(["body.username", "body.email", "body.password", "body.role"]);
  });

  it("when the password is weak, then 422 says why", async () => {
    const res = await call("POST", "/api/v1/auth/register", { body: newUser("aaaaaaaaaaaaaaaa") });
    expect(res.status).to.equal(422);
    expect(res.body.code).to.equal("WEAK_PASSWORD");
    expect(res.body.detail).to.be.an("array").with.length.above(0);
  });

  it("when logging in by username or email, then a Bearer token pair", async () => {
    const { user, tokens } = await signedIn();
    expect(tokens).to.include({ token_type: "Bearer", expires_in: 900 });
    expect(tokens.refresh_token).to.be.a("string");
    const byEmail = await call("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(byEmail.status).to.equal(200);
  });

  it("when the password is wrong, then 401 Unauthorized", async () => {
    const { user } = await signedIn();
    const res = await call("POST", "/api/v1/auth/login", { body: { username: user.username, password: "Wrong-passw0rd!!" } });
    expect(res.status).to.equal(401);
    expect(res.body).to.include({ error: "Unauthorized", code: "INVALID_CREDENTIALS" });
  });

  it("when /me is called with the access token, then it answers the user", async () => {
    const { id, user, tokens } = await signedIn();
    const res = await call("GET", "/api/v1/auth/me", { token: tokens.access_token });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ id, username: user.username });
  });

  it("when /me is called without credentials, then 401 with WWW-Authenticate", async () => {
    const res = await call("GET", "/api/v1/auth/me");
    expect(res.status).to.equal(401);
    expect(res.body.code).to.equal("UNAUTHENTICATED");
    expect(res.headers.get("www-authenticate")).to.contain("Bearer");
  });

  describe("tokens the gateway must refuse", () => {
    const sign = (key: { pem: string; kid: string }, claims: Record<string, unknown>, opts: { exp?: string | number; aud?: string; iss?: string } = {}) =>
      new SignJWT({ username: "mallory", roles: ["admin"], scope: "admin profile:read", sid: "00000000-0000-4000-8000-000000000000", ...claims })
        .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" })
        .setSubject("00000000-0000-4000-8000-000000000001")
        .setIssuer(opts.iss ?? "meridian-auth")
        .setAudience(opts.aud ?? "meridian-api")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
        .setExpirationTime(opts.exp ?? "10m")
        .sign(createPrivateKey(key.pem));

    it("when the token is expired, then 401 'Token has expired'", async () => {
      const token = await sign(stack.key, {}, { exp: Math.floor(Date.now() / 1000 - 60) });
      const res = await call("GET", "/api/v1/auth/me", { token });
      expect(res.status).to.equal(401);
      expect(res.body).to.include({ code: "INVALID_TOKEN", detail: "Token has expired" });
    });

    it("when the audience or issuer is wrong, then 401", async () => {
      for (const opts of [{ aud: "someone-else" }, { iss: "evil" }]) {
        expect((await call("GET", "/api/v1/auth/me", { token: await sign(stack.key, {}, opts) })).status).to.equal(401);
      }
    });

    it("when the token is signed by an unknown key or with alg none, then 401", async () => {
      expect((await call("GET", "/api/v1/auth/me", { token: await sign(signingKey(), {}) })).status).to.equal(401);
      const none = `${Buffer.from(JSON.stringify({ alg: "none", kid: stack.key.kid })).toString("base64url")}.${Buffer.from(JSON.stringify({ sub: "x", sid: "y", username: "z", aud: "meridian-api", iss: "meridian-auth", exp: 9999999999 })).toString("base64url")}.`;
      expect((await call("GET", "/api/v1/auth/me", { token: none })).status).to.equal(401);
      expect((await call("GET", "/api/v1/auth/me", { token: "garbage" })).status).to.equal(401);
    });
  });

  it("when a refresh token is used twice, then the second use is refused and the session revoked", async () => {
    const { tokens } = await signedIn();
    const first = await call<Tokens>("POST", "/api/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } });
    expect(first.status).to.equal(200);
    expect((await call("GET", "/api/v1/auth/me", { token: first.body.access_token })).status).to.equal(200);
    const reuse = await call("POST", "/api/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } });
    expect(reuse.status).to.equal(401);
    const afterReuse = await call("GET", "/api/v1/auth/me", { token: first.body.access_token });
    expect(afterReuse.status).to.equal(401);
    expect(afterReuse.body.code).to.equal("TOKEN_REVOKED");
    expect((await call("POST", "/api/v1/auth/refresh", { body: { refresh_token: first.body.refresh_token } })).status).to.equal(401);
  });

  it("when the user logs out, then the access token and refresh token stop working at once", async () => {
    const { tokens } = await signedIn();
    const out = await call("POST", "/api/v1/auth/logout", { token: tokens.access_token });
    expect(out.status).to.equal(200);
    const me = await call("GET", "/api/v1/auth/me", { token: tokens.access_token });
    expect(me.status).to.equal(401);
    expect(me.body).to.include({ code: "TOKEN_REVOKED", detail: "Token has been revoked" });
    expect((await call("POST", "/api/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } })).status).to.equal(401);
  });

  describe("API keys", () => {
    it("when a key is created, then it authenticates with X-API-Key within its scopes until revoked", async () => {
      const { id, tokens } = await signedIn();
      const created = await call("POST", "/api/v1/auth/api-keys", { token: tokens.access_token, body: { name: "script", scopes: ["profile:read"] } });
      expect(created.status).to.equal(201);
      const key = created.body.key as string;
      const me = await call("GET", "/api/v1/auth/me", { headers: { "x-api-key": key } });
      expect(me.status).to.equal(200);
      expect(me.body.id).to.equal(id);
      const list = await call("GET", "/api/v1/auth/api-keys", { headers: { authorization: `ApiKey ${key}` } });
      expect(list.status).to.equal(403);
      expect(list.body.detail).to.equal("Missing scope: api-keys:read");
      const revoked = await call("DELETE", `/api/v1/auth/api-keys/${created.body.id as string}`, { token: tokens.access_token });
      expect(revoked.status).to.equal(200);
      expect((await call("GET", "/api/v1/auth/me", { headers: { "x-api-key": key } })).status).to.equal(401);
    });

    it("when a path parameter is malformed, then 422 before any service is asked", async () => {
      const { tokens } = await signedIn();
      const res = await call("DELETE", "/api/v1/auth/api-keys/not-a-uuid", { token: tokens.access_token });
      expect(res.status).to.equal(422);
      expect((res.body.detail as Array<{ path: string }>)[0]?.path).to.equal("params.id");
    });
  });
});
