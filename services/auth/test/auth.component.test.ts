import { expect } from "chai";
import { refusal } from "@meridian/service-kit/testing";
import { createLocalJWKSet, jwtVerify } from "jose";
import {
  Subjects,
  type ApiKeyCreated,
  type ApiKeyView,
  type HealthReport,
  type Principal,
  type SigningKeys,
  type TokenPair,
  type UserView,
} from "@meridian/contracts";
import { Kvm } from "@nats-io/kv";
import { Buckets, RevokedEntryKeys } from "@meridian/contracts";
import { RevokedSessions } from "@meridian/service-kit";
import { waitFor } from "@meridian/service-kit/testing";
import { AuthTestContext, newUser } from "./auth-context.js";

const refused = refusal;

describe("auth service over NATS", function () {
  const ctx = new AuthTestContext();
  const admin = newUser("Admin-Passw0rd!!");

  before(async () => {
    await ctx.start({ ADMIN_USERNAME: admin.username, ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
  });
  after(() => ctx.stop());

  async function registerAndLogin() {
    const user = newUser();
    const view = await ctx.request<UserView>(Subjects.auth.register, user);
    const tokens = await ctx.request<TokenPair>(Subjects.auth.login, { username: user.username, password: user.password });
    const keys = await ctx.request<SigningKeys>(Subjects.auth.signingKeys, {});
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet({ keys: keys.keys }));
    const principal: Principal = { kind: "user", sub: view.id, username: view.username, roles: view.roles, scopes: [], sid: payload.sid as string };
    return { user, view, tokens, principal };
  }

  describe("register", () => {
    it("when the request is valid, then the user is created with the user role", async () => {
      const user = newUser();
      const view = await ctx.request<UserView>(Subjects.auth.register, { ...user, username: user.username.toUpperCase() });
      expect(view).to.include({ username: user.username, email: user.email });
      expect(view.roles).to.deep.equal(["user"]);
      expect(view).to.not.have.property("password_hash");
    });

    it("when the username or email is taken, then USERNAME_TAKEN or EMAIL_TAKEN", async () => {
      const user = newUser();
      await ctx.request(Subjects.auth.register, user);
      const other = newUser();
      expect((await refused(ctx.request(Subjects.auth.register, { ...other, username: user.username }))).code).to.equal("USERNAME_TAKEN");
      expect((await refused(ctx.request(Subjects.auth.register, { ...other, email: user.email }))).code).to.equal("EMAIL_TAKEN");
    });

    it("when the password is weak, then WEAK_PASSWORD lists why", async () => {
      const user = newUser("alllowercaseletters");
      const err = await refused(ctx.request(Subjects.auth.register, user));
      expect(err.code).to.equal("WEAK_PASSWORD");
      expect(err.status).to.equal(422);
      expect(JSON.stringify(err.details)).to.contain("three of");
    });

    it("when the caller tries to choose a role, then the request is refused", async () => {
      const err = await refused(ctx.request(Subjects.auth.register, { ...newUser(), roles: ["admin"] }));
      expect(err.code).to.equal("VALIDATION_FAILED");
      expect(err.details).to.deep.include({ path: "roles", message: "'roles' is not allowed" });
    });
  });

  describe("login, refresh, logout", () => {
    it("when credentials are right (by username or email), then a signed token pair comes back", async () => {
      const { user, view, tokens } = await registerAndLogin();
      expect(tokens.token_type).to.equal("Bearer");
      expect(tokens.expires_in).to.equal(900);
      const byEmail = await ctx.request<TokenPair>(Subjects.auth.login, { email: user.email, password: user.password });
      const keys = await ctx.request<SigningKeys>(Subjects.auth.signingKeys, {});
      const { payload, protectedHeader } = await jwtVerify(byEmail.access_token, createLocalJWKSet({ keys: keys.keys }), {
        issuer: "meridian-auth",
        audience: "meridian-api",
        algorithms: ["ES256"],
      });
      expect(protectedHeader.kid).to.equal(ctx.config.JWT_KEY_ID);
      expect(payload.sub).to.equal(view.id);
      expect(payload.roles).to.deep.equal(["user"]);
      expect(payload.scope).to.be.a("string").and.contain("agents:read");
    });

    it("when the password is wrong or the user unknown, then the same INVALID_CREDENTIALS", async () => {
      const { user } = await registerAndLogin();
      const wrong = await refused(ctx.request(Subjects.auth.login, { username: user.username, password: "Wrong-passw0rd!" }));
      const unknown = await refused(ctx.request(Subjects.auth.login, { username: "nobody-here", password: "Wrong-passw0rd!" }));
      expect([wrong.code, unknown.code]).to.deep.equal(["INVALID_CREDENTIALS", "INVALID_CREDENTIALS"]);
      expect(wrong.message).to.equal(unknown.message);
    });

    it("when a refresh token is used, then it rotates and the old one stops working", async () => {
      const { tokens } = await registerAndLogin();
      const next = await ctx.request<TokenPair>(Subjects.auth.refresh, { refresh_token: tokens.refresh_token });
      expect(next.refresh_token).to.not.equal(tokens.refresh_token);
      const again = await ctx.request<TokenPair>(Subjects.auth.refresh, { refresh_token: next.refresh_token });
      expect(again.access_token).to.be.a("string");
    });

    it("when a rotated refresh token is reused, then the whole family is revoked", async () => {
      const { tokens, principal } = await registerAndLogin();
      const next = await ctx.request<TokenPair>(Subjects.auth.refresh, { refresh_token: tokens.refresh_token });
      expect((await refused(ctx.request(Subjects.auth.refresh, { refresh_token: tokens.refresh_token }))).code).to.equal("INVALID_TOKEN");
      expect((await refused(ctx.request(Subjects.auth.refresh, { refresh_token: next.refresh_token }))).code).to.equal("INVALID_TOKEN");
      const revoked = await RevokedSessions.open(ctx.nc);
      expect(await revoked.isRevoked(principal.sid!)).to.equal(true);
    });

    it("when two refreshes race with one token, then only one succeeds", async () => {
      const { tokens } = await registerAndLogin();
      const results = await Promise.allSettled([
        ctx.request(Subjects.auth.refresh, { refresh_token: tokens.refresh_token }),
        ctx.request(Subjects.auth.refresh, { refresh_token: tokens.refresh_token }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
    });

    it("when the user logs out, then the session is revoked and its refresh token refused", async () => {
      const { tokens, principal } = await registerAndLogin();
      expect(await ctx.request(Subjects.auth.logout, {}, { principal })).to.deep.equal({ revoked: true });
      expect((await refused(ctx.request(Subjects.auth.refresh, { refresh_token: tokens.refresh_token }))).code).to.equal("INVALID_TOKEN");
      expect(await (await RevokedSessions.open(ctx.nc)).isRevoked(principal.sid!)).to.equal(true);
    });

    it("when logout or me come without a principal, then UNAUTHENTICATED", async () => {
      expect((await refused(ctx.request(Subjects.auth.logout, {}))).code).to.equal("UNAUTHENTICATED");
      expect((await refused(ctx.request(Subjects.auth.me, {}))).code).to.equal("UNAUTHENTICATED");
    });

    it("when me is asked with a principal, then it answers that user", async () => {
      const { view, principal } = await registerAndLogin();
      expect(await ctx.request<UserView>(Subjects.auth.me, {}, { principal })).to.deep.equal(view);
    });
  });

  describe("the first admin", () => {
    it("when configured, then it exists with the admin role and can log in", async () => {
      const tokens = await ctx.request<TokenPair>(Subjects.auth.login, { username: admin.username, password: admin.password });
      const keys = await ctx.request<SigningKeys>(Subjects.auth.signingKeys, {});
      const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet({ keys: keys.keys }));
      expect(payload.roles).to.deep.equal(["admin"]);
    });
  });

  describe("API keys", () => {
    it("when a key is created, then it verifies to its owner with its scopes until revoked", async () => {
      const { view, principal } = await registerAndLogin();
      const created = await ctx.request<ApiKeyCreated>(Subjects.auth.apiKeyCreate, { name: "ci", scopes: ["agents:read"] }, { principal });
      expect(created.key).to.match(/^mk_[0-9a-f]{8}_/);
      const verified = await ctx.request<Principal>(Subjects.auth.apiKeyVerify, { key: created.key });
      expect(verified).to.deep.include({ kind: "api_key", sub: view.id, keyId: created.id });
      expect(verified.scopes).to.deep.equal(["agents:read"]);
      const listed = await ctx.request<{ items: ApiKeyView[] }>(Subjects.auth.apiKeyList, {}, { principal });
      expect(listed.items.map((k) => k.id)).to.deep.equal([created.id]);
      expect(listed.items[0]).to.not.have.property("key");
      await ctx.request(Subjects.auth.apiKeyRevoke, { id: created.id }, { principal });
      expect((await refused(ctx.request(Subjects.auth.apiKeyVerify, { key: created.key })))).to.deep.include({ code: "TOKEN_REVOKED", message: "API key has been revoked" });
    });

    it("when a key is revoked, then its entry is in the revoked-credentials bucket before the reply", async () => {
      const { principal } = await registerAndLogin();
      const created = await ctx.request<ApiKeyCreated>(Subjects.auth.apiKeyCreate, { name: "gw" }, { principal });
      await ctx.request(Subjects.auth.apiKeyRevoke, { id: created.id }, { principal });
      const kv = await new Kvm(ctx.nc).open(Buckets.revokedSessions);
      expect((await kv.get(RevokedEntryKeys.apiKey(created.id)))?.operation).to.equal("PUT");
    });

    it("when a key is verified several times, then last_used_at is written with the next batch", async () => {
      const { principal } = await registerAndLogin();
      const created = await ctx.request<ApiKeyCreated>(Subjects.auth.apiKeyCreate, { name: "busy" }, { principal });
      const lastUsed = async () => (await ctx.request<{ items: ApiKeyView[] }>(Subjects.auth.apiKeyList, {}, { principal })).items[0]?.last_used_at;
      expect(await lastUsed()).to.equal(null);
      await Promise.all([1, 2, 3].map(() => ctx.request(Subjects.auth.apiKeyVerify, { key: created.key })));
      const at = await waitFor(lastUsed, { what: "last_used_at" });
      expect(Date.parse(at)).to.be.closeTo(Date.now(), 10_000);
    });

    it("when a user asks for a scope beyond its role, then FORBIDDEN", async () => {
      const { principal } = await registerAndLogin();
      const err = await refused(ctx.request(Subjects.auth.apiKeyCreate, { name: "x", scopes: ["admin"] }, { principal }));
      expect(err.code).to.equal("FORBIDDEN");
    });

    it("when someone revokes another user's key, then NOT_FOUND", async () => {
      const a = await registerAndLogin();
      const b = await registerAndLogin();
      const created = await ctx.request<ApiKeyCreated>(Subjects.auth.apiKeyCreate, { name: "mine" }, { principal: a.principal });
      const err = await refused(ctx.request(Subjects.auth.apiKeyRevoke, { id: created.id }, { principal: b.principal }));
      expect(err.code).to.equal("NOT_FOUND");
    });
  });

  describe("operations", () => {
    it("when a request carries a correlation id, then the service's log lines carry it", async () => {
      await ctx.request(Subjects.auth.register, newUser(), { correlationId: "corr-auth-test-1" });
      const lines = ctx.logs.lines.filter((l) => l.correlation_id === "corr-auth-test-1");
      expect(lines.map((l) => l.message)).to.include.members(["user registered", "request handled"]);
      expect(lines.every((l) => l.subject === Subjects.auth.register && l.service === "auth")).to.equal(true);
    });

    it("when a password crosses the service, then no log line contains it", async () => {
      const user = newUser("Unique-Secret-99!");
      await ctx.request(Subjects.auth.register, user);
      await ctx.request(Subjects.auth.login, { username: user.username, password: user.password });
      expect(JSON.stringify(ctx.logs.lines)).to.not.contain("Unique-Secret-99!");
    });

    it("when health is asked, then postgres is reported ok", async () => {
      const report = await ctx.request<HealthReport>(Subjects.auth.health, {});
      expect(report).to.deep.include({ service: "auth", status: "ok" });
      expect(report.checks.postgres).to.deep.equal({ status: "ok" });
    });
  });
});
