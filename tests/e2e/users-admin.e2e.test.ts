import { expect } from "chai";
import type { AdminUserList, AdminUserView } from "@meridian/contracts";
import { waitFor } from "@meridian/service-kit/testing";
import { http, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

/** Admins manage accounts: list, change roles, disable — a disabled user's tokens and keys stop at once. */
describe("e2e: user administration through the gateway", function () {
  this.timeout(60_000);
  const stack = new Stack();
  const admin = { username: "users_admin", email: "users_admin@example.com", password: "Sturdy-Passw0rd!" };
  let adminToken: string;

  before(async () => {
    await stack.start({ admin });
    adminToken = (await http<{ access_token: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: admin.username, password: admin.password } })).body.access_token;
  });
  after(() => stack.stop());

  const call = <T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown) =>
    http<T>(stack.gatewayUrl, method, path, { token, ...(body !== undefined ? { body } : {}) });

  it("when an admin disables a user, then the user's token and API key are refused within a second, and sign-in fails", async () => {
    const victim = await signUp(stack.gatewayUrl);
    const key = await call<{ key: string }>("POST", "/api/v1/auth/api-keys", victim.token, { name: "script", scopes: ["profile:read"] });
    expect(key.status).to.equal(201);
    expect((await http(stack.gatewayUrl, "GET", "/api/v1/auth/me", { headers: { "x-api-key": key.body.key } })).status).to.equal(200);

    const listed = await call<AdminUserList>("GET", `/api/v1/users?q=${victim.username}`, adminToken);
    expect(listed.status).to.equal(200);
    expect(listed.body.items.map((u) => u.username)).to.deep.equal([victim.username]);

    const began = Date.now();
    const disabled = await call<AdminUserView>("PATCH", `/api/v1/users/${victim.id}`, adminToken, { disabled: true });
    expect(disabled.status, disabled.text).to.equal(200);
    expect(disabled.body).to.deep.include({ id: victim.id, disabled: true });
    await waitFor(async () => (await call("GET", "/api/v1/auth/me", victim.token)).status === 401, { timeoutMs: 1000, what: "the token refused" });
    await waitFor(async () => (await http(stack.gatewayUrl, "GET", "/api/v1/auth/me", { headers: { "x-api-key": key.body.key } })).status === 401, {
      timeoutMs: 1000,
      what: "the key refused",
    });
    expect(Date.now() - began).to.be.below(2000);
    const login = await http(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: victim.username, password: victim.user.password } });
    expect(login.status).to.equal(401);
  });

  it("when an admin changes a user's roles, then the old session ends and a new sign-in carries the new roles", async () => {
    const user = await signUp(stack.gatewayUrl);
    const changed = await call<AdminUserView>("PATCH", `/api/v1/users/${user.id}`, adminToken, { roles: ["readonly"] });
    expect(changed.body.roles).to.deep.equal(["readonly"]);
    await waitFor(async () => (await call("GET", "/api/v1/auth/me", user.token)).status === 401, { timeoutMs: 1000, what: "the old session ended" });
    const login = await http<{ access_token: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: user.username, password: user.user.password } });
    const me = await call<{ roles: string[] }>("GET", "/api/v1/auth/me", login.body.access_token);
    expect(me.body.roles).to.deep.equal(["readonly"]);
  });

  it("when a non-admin manages users, or an admin locks themselves out, then 403 or 409", async () => {
    const user = await signUp(stack.gatewayUrl);
    expect((await call("GET", "/api/v1/users", user.token)).status).to.equal(403);
    expect((await call("PATCH", `/api/v1/users/${user.id}`, user.token, { roles: ["admin"] })).status).to.equal(403);
    const me = await call<{ id: string }>("GET", "/api/v1/auth/me", adminToken);
    expect((await call("PATCH", `/api/v1/users/${me.body.id}`, adminToken, { disabled: true })).status).to.equal(409);
    expect((await call("PATCH", `/api/v1/users/${me.body.id}`, adminToken, {})).status).to.equal(422);
  });
});
