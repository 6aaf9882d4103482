import { expect } from "chai";
import { loadAuthConfig } from "../src/config.js";
import { authTestEnv } from "./auth-context.js";

describe("auth config", () => {
  it("when the signing key is missing, then start-up fails naming it", () => {
    const env = authTestEnv();
    delete (env as Record<string, string | undefined>).JWT_PRIVATE_KEY;
    expect(() => loadAuthConfig(env)).to.throw(/JWT_PRIVATE_KEY.* is required/);
  });
  it("when a value is out of range, then every problem is listed", () => {
    expect(() => loadAuthConfig(authTestEnv({ ACCESS_TOKEN_TTL_S: "5", DB_POOL_SIZE: "0" }))).to.throw(/DB_POOL_SIZE[\s\S]*ACCESS_TOKEN_TTL_S/);
  });
  it("when the admin is half configured, then start-up fails", () => {
    expect(() => loadAuthConfig(authTestEnv({ ADMIN_USERNAME: "root" }))).to.throw(/ADMIN/);
  });
  it("when the previous keys are not a JSON list of { kid, publicKeyPem }, then start-up fails", () => {
    expect(() => loadAuthConfig(authTestEnv({ JWT_PREVIOUS_KEYS: "[{" }))).to.throw(/JWT_PREVIOUS_KEYS.* must be a JSON array/);
    expect(() => loadAuthConfig(authTestEnv({ JWT_PREVIOUS_KEYS: '[{"kid":"x"}]' }))).to.throw(/publicKeyPem/);
  });

  it("when valid, then the config is frozen", () => {
    const config = loadAuthConfig(authTestEnv());
    expect(Object.isFrozen(config)).to.equal(true);
    expect(config.ACCESS_TOKEN_TTL_S).to.equal(900);
  });
});
