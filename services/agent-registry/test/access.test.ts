import { expect } from "chai";
import {
  canModifyAgent,
  canSeeAgent,
  hasScope,
  isAdmin,
  MeridianError,
  REDACTED,
  scopesForRoles,
  type AgentView,
  type Principal,
  type Role,
} from "@meridian/contracts";
import { redactFor, redactUrl, requireAdmin, requireModify, requireScope, visibleTo } from "../src/domain/access.js";
import { changesFrom } from "../src/domain/agents.js";

const OWNER = "0b5e8f7a-8c1d-4a55-b0a4-6a2f1e0c9d11";
const OTHER = "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21";

function user(role: Role, sub = OWNER): Principal {
  return { kind: "user", sub, username: role, roles: [role], scopes: scopesForRoles([role]) };
}
function key(role: Role, scopes: Principal["scopes"], sub = OWNER): Principal {
  return { ...user(role, sub), kind: "api_key", scopes, keyId: "k" };
}
function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as MeridianError).code;
  }
  return undefined;
}

describe("agent access rules", () => {
  const enabled = { owner_id: OWNER, enabled: true, visibility: "public" } as const;
  const disabled = { owner_id: OWNER, enabled: false, visibility: "public" } as const;
  const hidden = { owner_id: OWNER, enabled: true, visibility: "private" } as const;

  it("when a user's role grants agents:write, then it may write; readonly and agent roles may not", () => {
    expect(hasScope(user("user"), "agents:write")).to.equal(true);
    expect(hasScope(user("admin"), "agents:write")).to.equal(true);
    expect(hasScope(user("readonly"), "agents:write")).to.equal(false);
    expect(hasScope(user("agent"), "agents:write")).to.equal(false);
    expect(codeOf(() => requireScope(user("readonly"), "agents:write"))).to.equal("FORBIDDEN");
  });

  it("when every role reads, then all of them pass agents:read", () => {
    for (const role of ["admin", "user", "agent", "readonly"] as const) expect(hasScope(user(role), "agents:read")).to.equal(true);
  });

  it("when an API key lacks a scope its owner has, then it is refused naming the key", () => {
    const readOnlyKey = key("user", ["agents:read"]);
    expect(hasScope(readOnlyKey, "agents:read")).to.equal(true);
    expect(hasScope(readOnlyKey, "agents:write")).to.equal(false);
    try {
      requireScope(readOnlyKey, "agents:write");
      expect.fail("expected FORBIDDEN");
    } catch (err) {
      expect(err).to.be.instanceOf(MeridianError);
      expect((err as MeridianError).message).to.contain("API key");
    }
  });

  it("when an API key claims a scope its owner's role lacks, then the role wins", () => {
    expect(hasScope(key("readonly", ["agents:write"]), "agents:write")).to.equal(false);
  });

  it("when an admin acts through an API key, then it is admin only with the admin scope", () => {
    expect(isAdmin(user("admin"))).to.equal(true);
    expect(isAdmin(key("admin", ["agents:read", "agents:write"]))).to.equal(false);
    expect(isAdmin(key("admin", ["agents:write", "admin"]))).to.equal(true);
    expect(isAdmin(user("user"))).to.equal(false);
  });

  it("when a public agent is disabled, or an agent is private, then only its owner and admins see it", () => {
    expect(canSeeAgent(user("user", OTHER), enabled)).to.equal(true);
    expect(canSeeAgent(user("user", OTHER), disabled)).to.equal(false);
    expect(canSeeAgent(user("user", OTHER), hidden)).to.equal(false);
    expect(canSeeAgent(user("user"), disabled)).to.equal(true);
    expect(canSeeAgent(user("user"), hidden)).to.equal(true);
    expect(canSeeAgent(user("admin", OTHER), disabled)).to.equal(true);
    expect(canSeeAgent(user("admin", OTHER), hidden)).to.equal(true);
  });

  it("when someone else changes an agent, then FORBIDDEN if they see it and NOT_FOUND if not", () => {
    expect(canModifyAgent(user("user"), enabled)).to.equal(true);
    expect(canModifyAgent(user("admin", OTHER), enabled)).to.equal(true);
    expect(codeOf(() => requireModify(user("user", OTHER), enabled, "a"))).to.equal("FORBIDDEN");
    expect(codeOf(() => requireModify(user("user", OTHER), disabled, "a"))).to.equal("NOT_FOUND");
    expect(codeOf(() => requireModify(user("user", OTHER), hidden, "a"))).to.equal("NOT_FOUND");
    expect(codeOf(() => requireModify(user("user"), undefined, "a"))).to.equal("NOT_FOUND");
    expect(codeOf(() => requireModify(user("user"), disabled, "a"))).to.equal(undefined);
  });

  it("when listing, then admins are not limited and others are limited by their id", () => {
    expect(visibleTo(user("admin"))).to.equal(undefined);
    expect(visibleTo(user("user", OTHER))).to.equal(OTHER);
    expect(visibleTo(key("admin", ["agents:read"], OTHER))).to.equal(OTHER);
  });

  it("when an agent is looked up by id, then only an admin may", () => {
    expect(codeOf(() => requireAdmin(user("admin")))).to.equal(undefined);
    expect(codeOf(() => requireAdmin(key("admin", ["agents:read", "admin"])))).to.equal(undefined);
    expect(codeOf(() => requireAdmin(key("admin", ["agents:read"])))).to.equal("FORBIDDEN");
    expect(codeOf(() => requireAdmin(user("user")))).to.equal("FORBIDDEN");
  });
});

describe("agent views for other callers", () => {
  const view = (config: AgentView["config"], runtime: AgentView["runtime"] = "http"): AgentView => ({
    id: "9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c",
    name: "a",
    description: null,
    runtime,
    config,
    timeout_ms: 1000,
    max_attempts: 1,
    backoff_ms: [0],
    concurrency: 1,
    enabled: true,
    visibility: "public",
    owner_id: OWNER,
    owner_username: "owner",
    created_at: "2026-11-23T10:00:00.000Z",
    updated_at: "2026-11-23T10:00:00.000Z",
    version: 1,
  });
  const secret = { url: "https://example.com/run", headers: { Authorization: "Bearer s3cret", "X-Team": "a" } };

  it("when someone else reads an http agent, then every header value is redacted and the keys kept", () => {
    const shown = redactFor(user("user", OTHER), view(secret));
    expect(shown.config).to.deep.equal({ url: "https://example.com/run", headers: { Authorization: REDACTED, "X-Team": REDACTED } });
    expect(secret.headers.Authorization).to.equal("Bearer s3cret");
  });

  it("when the owner, its API key or an admin reads, then the headers are shown", () => {
    for (const reader of [user("user"), key("user", ["agents:read"]), user("admin", OTHER), key("admin", ["agents:read", "admin"], OTHER)]) {
      expect(redactFor(reader, view(secret)).config).to.deep.equal(secret);
    }
  });

  it("when an admin reads through a key without the admin scope, then the headers are redacted", () => {
    expect(redactFor(key("admin", ["agents:read"], OTHER), view(secret)).config).to.deep.include({ headers: { Authorization: REDACTED, "X-Team": REDACTED } });
  });

  it("when the url carries user-info, then others get it redacted and the owner sees it", () => {
    const withUser = { url: "https://bot:pa%40ss@agents.example.com:8443/run?x=1" };
    expect(redactFor(user("user", OTHER), view(withUser)).config).to.deep.equal({ url: `https://${REDACTED}@agents.example.com:8443/run?x=1` });
    expect(redactFor(user("user"), view(withUser)).config).to.deep.equal(withUser);
    expect(redactUrl("http://token@example.com/a@b")).to.equal(`http://${REDACTED}@example.com/a@b`);
    expect(redactUrl("https://example.com/run?u=a@b")).to.equal("https://example.com/run?u=a@b");
  });

  it("when the agent has no headers or user-info or another runtime, then the view is unchanged", () => {
    const noHeaders = view({ url: "https://example.com/run" });
    expect(redactFor(user("user", OTHER), noHeaders)).to.equal(noHeaders);
    const sleep = view({ ms: 5 }, "sleep");
    expect(redactFor(user("user", OTHER), sleep)).to.equal(sleep);
  });
});

describe("agent update changes", () => {
  it("when fields are given, then only they change and the name is not one of them", () => {
    expect(changesFrom({ name: "a", concurrency: 2, enabled: false })).to.deep.equal({ concurrency: 2, enabled: false });
  });
  it("when the description is empty or null, then it is cleared", () => {
    expect(changesFrom({ name: "a", description: "" })).to.deep.equal({ description: null });
    expect(changesFrom({ name: "a", description: null })).to.deep.equal({ description: null });
  });
});
