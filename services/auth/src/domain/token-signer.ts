import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { exportJWK, SignJWT } from "jose";
import { ACCESS_TOKEN_TYP, scopesForRoles, type Role, type SigningKeys } from "@meridian/contracts";

export interface AccessClaims {
  userId: string;
  username: string;
  roles: Role[];
  sessionId: string;
}

export interface TokenSigner {
  ttlSeconds: number;
  sign(claims: AccessClaims): Promise<string>;
  signingKeys(): Promise<SigningKeys>;
}

/** Access tokens are ES256 JWTs (RFC 9068 `at+jwt`) signed here alone; verifiers get the public key with its `kid`. */
export function createTokenSigner(opts: {
  privateKeyPem: string;
  keyId: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Rotation: keys that signed earlier tokens, published until those tokens expire. */
  previousKeys?: Array<{ kid: string; publicKeyPem: string }>;
}): TokenSigner {
  const privateKey: KeyObject = createPrivateKey(opts.privateKeyPem);
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("JWT_PRIVATE_KEY must be an EC P-256 key (ES256)");
  }
  const publicKey = createPublicKey(privateKey);
  const previous = (opts.previousKeys ?? []).map(({ kid, publicKeyPem }) => ({ kid, key: createPublicKey(publicKeyPem) }));
  return {
    ttlSeconds: opts.ttlSeconds,
    sign: (claims) =>
      new SignJWT({
        username: claims.username,
        roles: claims.roles,
        scope: scopesForRoles(claims.roles).join(" "),
        sid: claims.sessionId,
      })
        .setProtectedHeader({ alg: "ES256", kid: opts.keyId, typ: ACCESS_TOKEN_TYP })
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(claims.userId)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${opts.ttlSeconds}s`)
        .sign(privateKey),
    signingKeys: async () => ({
      issuer: opts.issuer,
      audience: opts.audience,
      keys: await Promise.all(
        [{ kid: opts.keyId, key: publicKey }, ...previous].map(async ({ kid, key }) => ({ ...(await exportJWK(key)), kid, alg: "ES256", use: "sig" })),
      ),
    }),
  };
}
