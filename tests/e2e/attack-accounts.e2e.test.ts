import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { expect } from "chai";
import { isFinalStatus, type AdminUserView, type AgentView, type SubmitBatchResult, type TaskView } from "@meridian/contracts";
import { uniqueName, waitFor } from "@meridian/service-kit/testing";
import { createAgentVia, http, newUser, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

const FREE_ATTEMPTS = 3;
const MAX_QUEUED = 3;

/** Attacks on accounts, sessions, per-user caps and the http runtime, all from outside through the gateway. */
describe("e2e: attacks on accounts, lockout, password policy, caps and SSRF", function () {
  this.timeout(120_000);
  const stack = new Stack();
  const admin = { username: uniqueName("atk_admin").replace(/-/g, "_").slice(0, 32), email: `${uniqueName("atk")}@example.com`, password: "Sturdy-Passw0rd!" };
  let adminToken: string;

  before(async () => {
    await stack.start({
      admin,
      agentRegistry: true,
      executors: 1,
      authEnv: { LOGIN_FREE_ATTEMPTS: String(FREE_ATTEMPTS), LOGIN_LOCK_BASE_S: "2", LOGIN_LOCK_MAX_S: "4", LOGIN_FAILURE_RESET_S: "600" },
      executorEnv: { MAX_QUEUED_TASKS_PER_USER: String(MAX_QUEUED) },
    });
    adminToken = (await http<{ access_token: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: admin.username, password: admin.password } })).body.access_token;
  });
  after(() => stack.stop());

  const call = <T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown) =>
    http<T>(stack.gatewayUrl, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const login = (username: string, password: string, from: string) =>
    http<{ access_token: string; code?: string; retry_after?: number; correlation_id?: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/login", {
      body: { username, password },
      headers: { "x-forwarded-for": from },
    });

  describe("login throttling per account", () => {
    async function guessUntilLocked(username: string) {
      const answers: Array<{ status: number; code: string | undefined; retryAfter: string | null }> = [];
      for (let i = 0; i < FREE_ATTEMPTS + 2; i++) {
        const res = await login(username, `Wrong-Guess-${i}-xyz`, `203.0.113.${10 + i}`);
        answers.push({ status: res.status, code: res.body.code, retryAfter: res.headers.get("retry-after") });
      }
      return answers;
    }

    it("when one account's password is guessed from several addresses, then it locks with 429, Retry-After and the envelope, even for the right password, until the lock ends", async () => {
      const victim = await signUp(stack.gatewayUrl);
      const answers = await guessUntilLocked(victim.username);
      expect(answers.slice(0, FREE_ATTEMPTS).map((a) => a.status)).to.deep.equal(new Array(FREE_ATTEMPTS).fill(401));
      for (const locked of answers.slice(FREE_ATTEMPTS)) {
        expect(locked.status).to.equal(429);
        expect(locked.code).to.equal("LOGIN_LOCKED");
        expect(Number(locked.retryAfter)).to.be.within(1, 4);
      }
      const refused = await login(victim.username, victim.user.password, "198.51.100.77");
      expect(refused.status).to.equal(429);
      expect(refused.body).to.include({ code: "LOGIN_LOCKED" });
      expect(refused.body.correlation_id).to.be.a("string").and.not.equal("");
      expect(refused.body.retry_after).to.be.within(1, 4);

      // Bounded: the lock ends by itself and the owner gets in with the right password.
      const ok = await waitFor(
        async () => {
          const res = await login(victim.username, victim.user.password, "198.51.100.78");
          return res.status === 200 ? res : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 1000, what: "the lock to end" },
      );
      expect(ok.body.access_token).to.be.a("string");
    });

    it("when the username is unknown, then the answers are the same as for a known account", async () => {
      const known = await signUp(stack.gatewayUrl);
      const unknown = newUser().username;
      const knownAnswers = await guessUntilLocked(known.username);
      const unknownAnswers = await guessUntilLocked(unknown);
      const shape = (a: { status: number; code: string | undefined; retryAfter: string | null }) => [a.status, a.code, a.retryAfter !== null];
      expect(unknownAnswers.map(shape)).to.deep.equal(knownAnswers.map(shape));
      expect(unknownAnswers.map((a) => a.status)).to.include(429);
    });

    it("when the account is reached by its email, then the same lock applies", async () => {
      const victim = await signUp(stack.gatewayUrl);
      for (let i = 0; i < FREE_ATTEMPTS; i++) await login(victim.username, `Wrong-Guess-${i}-xyz`, `192.0.2.${50 + i}`);
      const byEmail = await http<{ code: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { email: victim.user.email, password: "Wrong-Again-1x!" } });
      expect(byEmail.status).to.equal(429);
      expect(byEmail.body.code).to.equal("LOGIN_LOCKED");
    });
  });

  describe("password policy", () => {
    it("when a password is on the common-password list, in any case or with digits and symbols around it, then registration is refused with WEAK_PASSWORD", async () => {
      for (const password of ["Password1234", "PASSWORD1234", "Qwerty123456", "P@ssw0rd2024!", "Sunshine12345!", "1Q2W3E4R5T6Y"]) {
        const res = await http<{ code: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/register", { body: { ...newUser(), password } });
        expect(res.status, password).to.equal(422);
        expect(res.body.code, password).to.equal("WEAK_PASSWORD");
      }
    });

    it("when a password contains the username in any case, then registration is refused, and a strong one is accepted", async () => {
      const user = newUser();
      const refused = await http(stack.gatewayUrl, "POST", "/api/v1/auth/register", { body: { ...user, password: `X9!${user.username.toUpperCase()}` } });
      expect(refused.status).to.equal(422);
      const accepted = await http(stack.gatewayUrl, "POST", "/api/v1/auth/register", { body: { ...user, password: "Velvet-Lantern-Quarry-81" } });
      expect(accepted.status, accepted.text).to.equal(201);
    });
  });

  describe("user management", () => {
    const taskOf = (id: string, token: string) => call<TaskView>("GET", `/api/v1/tasks/${id}`, token);

    it("when an admin gets a user by id, then 200 with the admin view; an unknown id is 404 and a non-admin 403", async () => {
      const user = await signUp(stack.gatewayUrl);
      const got = await call<AdminUserView>("GET", `/api/v1/users/${user.id}`, adminToken);
      expect(got.status, got.text).to.equal(200);
      expect(got.body).to.deep.include({ id: user.id, username: user.username, disabled: false });
      expect((await call("GET", "/api/v1/users/00000000-0000-4000-8000-000000000000", adminToken)).status).to.equal(404);
      expect((await call("GET", `/api/v1/users/${user.id}`, user.token)).status).to.equal(403);
    });

    it("when an admin deletes a user, then their sessions, API keys and agents are gone at once, their queued tasks are cancelled (owner_deleted), and they cannot sign in", async () => {
      const victim = await signUp(stack.gatewayUrl);
      const key = await call<{ key: string }>("POST", "/api/v1/auth/api-keys", victim.token, { name: "script", scopes: ["profile:read"] });
      const agent = await createAgentVia<AgentView>(stack.gatewayUrl, victim.token, { runtime: "sdk" });
      const queued = await call<TaskView>("POST", "/api/v1/tasks", victim.token, { agent: agent.name, input: { n: 1 } });
      expect(queued.status, queued.text).to.equal(202);

      const deleted = await call("DELETE", `/api/v1/users/${victim.id}`, adminToken);
      expect(deleted.status, deleted.text).to.equal(200);
      expect((await call("GET", "/api/v1/auth/me", victim.token)).status).to.equal(401);
      expect((await http(stack.gatewayUrl, "GET", "/api/v1/auth/me", { headers: { "x-api-key": key.body.key } })).status).to.equal(401);
      expect((await login(victim.username, victim.user.password, "198.51.100.9")).status).to.equal(401);
      expect((await call("GET", `/api/v1/users/${victim.id}`, adminToken)).status).to.equal(404);
      expect((await call("GET", `/api/v1/agents/${agent.name}`, adminToken)).status).to.equal(404);
      const task = await waitFor(
        async () => {
          const got = await taskOf(queued.body.id, adminToken);
          return isFinalStatus(got.body.status) ? got.body : undefined;
        },
        { timeoutMs: 15_000, what: "the queued task to be cancelled" },
      );
      expect(task.status).to.equal("cancelled");
      expect(task.error?.code).to.equal("OWNER_DELETED");
    });

    it("when an admin deletes themselves or a non-admin deletes a user, then 409 or 403, and nothing is deleted", async () => {
      const me = await call<{ id: string }>("GET", "/api/v1/auth/me", adminToken);
      const self = await call<{ code: string }>("DELETE", `/api/v1/users/${me.body.id}`, adminToken);
      expect(self.status).to.equal(409);
      expect(self.body.code).to.equal("CONFLICT");
      const user = await signUp(stack.gatewayUrl);
      const other = await signUp(stack.gatewayUrl);
      expect((await call("DELETE", `/api/v1/users/${other.id}`, user.token)).status).to.equal(403);
      expect((await call("GET", "/api/v1/auth/me", other.token)).status).to.equal(200);
    });

    it("when a user deletes their own account, then the password is required, and afterwards their token and sign-in fail", async () => {
      const user = await signUp(stack.gatewayUrl);
      const wrong = await call<{ code: string }>("DELETE", "/api/v1/auth/me", user.token, { password: "Not-The-Passw0rd!" });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.code).to.equal("INVALID_CREDENTIALS");
      expect((await call("DELETE", "/api/v1/auth/me", user.token, {})).status).to.equal(422);
      expect((await call("GET", "/api/v1/auth/me", user.token)).status).to.equal(200);
      const gone = await call("DELETE", "/api/v1/auth/me", user.token, { password: user.user.password });
      expect(gone.status, gone.text).to.equal(200);
      expect((await call("GET", "/api/v1/auth/me", user.token)).status).to.equal(401);
      expect((await login(user.username, user.user.password, "198.51.100.10")).status).to.equal(401);
    });

    it("when a user logs out everywhere, then every session's access and refresh tokens stop working", async () => {
      const user = await signUp(stack.gatewayUrl);
      const second = await login(user.username, user.user.password, "198.51.100.11");
      expect(second.status).to.equal(200);
      const out = await call("POST", "/api/v1/auth/logout-all", user.token);
      expect(out.status, out.text).to.equal(200);
      expect((await call("GET", "/api/v1/auth/me", user.token)).status).to.equal(401);
      expect((await call("GET", "/api/v1/auth/me", second.body.access_token)).status).to.equal(401);
      const refreshed = await http(stack.gatewayUrl, "POST", "/api/v1/auth/refresh", { body: { refresh_token: user.tokens.refresh_token } });
      expect(refreshed.status).to.equal(401);
      expect((await login(user.username, user.user.password, "198.51.100.12")).status).to.equal(200);
    });
  });

  describe("queued tasks per user", () => {
    it("when a user has the maximum of queued tasks, then another submission or batch is refused with 429 TOO_MANY_QUEUED_TASKS, and others are not affected", async () => {
      const { token } = await signUp(stack.gatewayUrl);
      const agent = await createAgentVia<AgentView>(stack.gatewayUrl, token, { runtime: "sdk", visibility: "public" });
      const batch = await call<SubmitBatchResult>("POST", "/api/v1/tasks/batch", token, {
        tasks: Array.from({ length: MAX_QUEUED + 1 }, (_, n) => ({ agent: agent.name, input: { n } })),
      });
      expect(batch.status, batch.text).to.equal(202);
      expect(batch.body.items.map((i) => i.status)).to.deep.equal([...new Array(MAX_QUEUED).fill(202), 429]);
      expect((batch.body.items[MAX_QUEUED] as { error: { code: string } }).error.code).to.equal("TOO_MANY_QUEUED_TASKS");

      const single = await call<{ code: string }>("POST", "/api/v1/tasks", token, { agent: agent.name, input: {} });
      expect(single.status).to.equal(429);
      expect(single.body.code).to.equal("TOO_MANY_QUEUED_TASKS");
      const wholeBatch = await call<{ code: string }>("POST", "/api/v1/tasks/batch", token, { tasks: [{ agent: agent.name, input: {} }] });
      expect(wholeBatch.status).to.equal(429);
      expect(wholeBatch.body.code).to.equal("TOO_MANY_QUEUED_TASKS");

      const other = await signUp(stack.gatewayUrl);
      expect((await call("POST", "/api/v1/tasks", other.token, { agent: agent.name, input: {} })).status).to.equal(202);
    });
  });

  describe("SSRF through the http runtime", () => {
    let server: Server;
    let hits = 0;
    const ownAddress = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

    before(async function () {
      if (!ownAddress) this.skip();
      server = createServer((_req, res) => {
        hits++;
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
      server.listen(0, ownAddress);
      await once(server, "listening");
    });
    after(async () => {
      if (!server) return;
      server.close();
      await once(server, "close");
    });

    it("when an http agent points at the machine's own non-loopback address, then its task fails with SSRF_BLOCKED and nothing reaches the listener", async () => {
      const { token } = await signUp(stack.gatewayUrl);
      const port = (server.address() as AddressInfo).port;
      const agent = await createAgentVia<AgentView>(stack.gatewayUrl, token, { runtime: "http", config: { url: `http://${ownAddress}:${port}/hook` }, max_attempts: 1 });
      const res = await call<TaskView>("POST", "/api/v1/tasks?wait=20", token, { agent: agent.name, input: { x: 1 } });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.status).to.equal("failed");
      expect(res.body.error?.code).to.equal("SSRF_BLOCKED");
      expect(hits).to.equal(0);
    });
  });
});
