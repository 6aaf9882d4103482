import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import Joi from "joi";
import { agentWorkerPermissions, NatsServicePermissions } from "@meridian/contracts";
import { commonConfig, ConfigError, createNatsTrust, decodeNatsJwt, loadConfig, mintServiceCreds, mintUserCreds } from "../src/index.js";

describe("service kit: NATS credentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "kit-nats-auth-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const trust = createNatsTrust();
  const jwtOf = (creds: string) => /-----BEGIN NATS USER JWT-----\n(.+)\n/.exec(creds)![1]!;

  it("when a service's credentials are minted, then the JWT carries exactly its permissions from the matrix, issued by the account", () => {
    const creds = mintServiceCreds(trust);
    for (const [service, text] of Object.entries(creds)) {
      const claims = decodeNatsJwt(jwtOf(text));
      const perms = NatsServicePermissions[service as keyof typeof NatsServicePermissions];
      expect(claims.name).to.equal(service);
      expect(claims.nats).to.deep.include({ type: "user", issuer_account: trust.account });
      expect(claims.nats.pub).to.deep.equal({ allow: perms.publish });
      expect(claims.nats.sub).to.deep.equal({ allow: perms.subscribe });
      expect(claims.nats.resp !== undefined).to.equal(perms.allowResponses);
      expect(text).to.match(/-----BEGIN USER NKEY SEED-----\nSU[A-Z2-7]+\n/);
    }
  });

  it("when an agent's credentials are minted, then they expire and allow only its own worker subjects", () => {
    const expiresAt = new Date(Date.now() + 3600_000);
    const { creds } = mintUserCreds(trust, "agent-x", agentWorkerPermissions("0b7c6a2e-51a4-4c9e-9d4e-0a1b2c3d4e5f"), expiresAt);
    const claims = decodeNatsJwt(jwtOf(creds));
    expect(claims.exp).to.equal(Math.floor(expiresAt.getTime() / 1000));
    expect((claims.nats.pub as { allow: string[] }).allow.every((s) => s.startsWith("meridian.worker.0b7c6a2e-51a4-4c9e-9d4e-0a1b2c3d4e5f."))).to.equal(true);
  });

  describe("NATS_CREDS", () => {
    const schema = Joi.object({ NATS_CREDS: commonConfig.NATS_CREDS });
    it("when it names a credentials file, then it is kept", () => {
      const file = join(dir, "ok.creds");
      writeFileSync(file, mintServiceCreds(trust).gateway);
      expect(loadConfig("svc", schema, { NATS_CREDS: file }).NATS_CREDS).to.equal(file);
    });
    it("when the file is missing or not credentials, then start-up fails naming it", () => {
      const bad = join(dir, "bad.creds");
      writeFileSync(bad, "user=admin\n");
      expect(() => loadConfig("svc", schema, { NATS_CREDS: join(dir, "nope.creds") })).to.throw(ConfigError, /NATS_CREDS.*not a readable file/);
      expect(() => loadConfig("svc", schema, { NATS_CREDS: bad })).to.throw(ConfigError, /NATS_CREDS.*not a NATS credentials file/);
    });
  });
});
