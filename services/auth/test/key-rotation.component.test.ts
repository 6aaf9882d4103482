import { createPrivateKey, createPublicKey } from "node:crypto";
import { expect } from "chai";
import { createLocalJWKSet, jwtVerify, SignJWT } from "jose";
import { Subjects, type SigningKeys } from "@meridian/contracts";
import { uniqueName } from "@meridian/service-kit/testing";
import { AuthTestContext, testKeyPem } from "./auth-context.js";

describe("auth: signing-key rotation", function () {
  const ctx = new AuthTestContext();
  const oldPem = testKeyPem();
  const oldKid = uniqueName("old-kid");

  before(() =>
    ctx.start({
      JWT_PREVIOUS_KEYS: JSON.stringify([{ kid: oldKid, publicKeyPem: createPublicKey(oldPem).export({ type: "spki", format: "pem" }).toString() }]),
    }),
  );
  after(() => ctx.stop());

  it("when a key was rotated out, then its public half is still published beside the signing key", async () => {
    const keys = await ctx.request<SigningKeys>(Subjects.auth.signingKeys, {});
    expect(keys.keys.map((k) => k.kid)).to.deep.equal([ctx.config.JWT_KEY_ID, oldKid]);
    expect(keys.keys.every((k) => !("d" in k))).to.equal(true);
  });

  it("when a token signed by the previous key is checked against the published set, then it verifies", async () => {
    const token = await new SignJWT({ sid: "s" })
      .setProtectedHeader({ alg: "ES256", kid: oldKid })
      .setIssuer("meridian-auth")
      .setAudience("meridian-api")
      .setSubject("u")
      .setExpirationTime("5m")
      .sign(createPrivateKey(oldPem));
    const keys = await ctx.request<SigningKeys>(Subjects.auth.signingKeys, {});
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: keys.keys }), { algorithms: ["ES256"] });
    expect(protectedHeader.kid).to.equal(oldKid);
  });
});
