import { expect } from "chai";
import { createNatsTrust } from "@meridian/service-kit";
import { loadAgentRegistryConfig } from "../src/config.js";
import { agentRegistryTestEnv } from "./agent-registry-context.js";

describe("agent-registry config", () => {
  it("when the database url is missing, then start-up fails naming it", () => {
    const env = agentRegistryTestEnv();
    delete (env as Record<string, string | undefined>).DATABASE_URL;
    expect(() => loadAgentRegistryConfig(env)).to.throw(/DATABASE_URL.* is required/);
  });
  it("when a value is out of range, then every problem is listed", () => {
    expect(() => loadAgentRegistryConfig(agentRegistryTestEnv({ DB_POOL_SIZE: "0", NATS_REQUEST_TIMEOUT_MS: "1" }))).to.throw(
      /NATS_REQUEST_TIMEOUT_MS[\s\S]*DB_POOL_SIZE|DB_POOL_SIZE[\s\S]*NATS_REQUEST_TIMEOUT_MS/,
    );
  });
  it("when valid, then the config is frozen with its defaults", () => {
    const config = loadAgentRegistryConfig(agentRegistryTestEnv());
    expect(Object.isFrozen(config)).to.equal(true);
    expect(config.DB_POOL_SIZE).to.equal(10);
    expect(config.EVENT_REPUBLISH_INTERVAL_MS).to.equal(5000);
  });
  it("when the republish interval is too short or not a number, then start-up fails naming it", () => {
    expect(() => loadAgentRegistryConfig(agentRegistryTestEnv({ EVENT_REPUBLISH_INTERVAL_MS: "10" }))).to.throw(/EVENT_REPUBLISH_INTERVAL_MS/);
    expect(() => loadAgentRegistryConfig(agentRegistryTestEnv({ EVENT_REPUBLISH_INTERVAL_MS: "soon" }))).to.throw(/EVENT_REPUBLISH_INTERVAL_MS/);
  });
  it("when the NATS account signing key is malformed or given without the account, then start-up fails naming it", () => {
    const trust = createNatsTrust();
    expect(() => loadAgentRegistryConfig(agentRegistryTestEnv({ NATS_ACCOUNT: trust.account, NATS_ACCOUNT_SIGNING_KEY: "SUnotaseed" }))).to.throw(/NATS_ACCOUNT_SIGNING_KEY/);
    expect(() => loadAgentRegistryConfig(agentRegistryTestEnv({ NATS_ACCOUNT_SIGNING_KEY: trust.signingKeySeed }))).to.throw(/NATS_ACCOUNT/);
    const config = loadAgentRegistryConfig(agentRegistryTestEnv({ NATS_ACCOUNT: trust.account, NATS_ACCOUNT_SIGNING_KEY: trust.signingKeySeed }));
    expect(config.WORKER_CREDENTIALS_TTL_S).to.equal(30 * 24 * 3600);
  });
});
