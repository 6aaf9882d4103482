import type { Request } from "express";
import passportDefault from "passport";

export type Passport = InstanceType<typeof passportDefault.Authenticator>;
import { ExtractJwt, Strategy as JwtStrategy } from "passport-jwt";
import { Strategy as PassportStrategy } from "passport-strategy";
import { HttpHeaders, MeridianError, Roles, Scopes, type Principal, type Role, type Scope } from "@meridian/contracts";
import type { RevokedSessions } from "@meridian/service-kit";
import type { ApiKeyVerifier } from "./api-key-verifier.js";
import type { SigningKeyCache } from "@meridian/service-kit";

interface AccessTokenClaims {
  sub?: string;
  username?: string;
  roles?: unknown;
  scope?: unknown;
  sid?: string;
}

export function apiKeyFrom(req: Request): string | undefined {
  const header = req.get(HttpHeaders.apiKey);
  if (header) return header;
  const auth = req.get("authorization");
  return auth?.startsWith("ApiKey ") ? auth.slice(7).trim() : undefined;
}

/** Presents `X-API-Key: mk_…` (or `Authorization: ApiKey mk_…`) to the auth service. */
class ApiKeyStrategy extends PassportStrategy {
  name = "api-key";
  constructor(private readonly verifier: ApiKeyVerifier) {
    super();
  }
  override authenticate(req: Request): void {
    const key = apiKeyFrom(req);
    if (!key) return this.fail({ message: "No API key" }, 401);
    this.verifier.verify(key).then(
      (principal) => this.success(principal),
      (err: unknown) => (err instanceof MeridianError && err.status === 401 ? this.fail({ message: err.message }, 401) : this.error(err as Error)),
    );
  }
}

/**
 * A passport instance with two strategies: ES256 access tokens (algorithm, issuer, audience and
 * expiry pinned; key by kid from auth; session not revoked) and API keys.
 */
export function createPassport(opts: {
  keys: SigningKeyCache;
  revokedSessions: RevokedSessions;
  apiKeys: ApiKeyVerifier;
  issuer: string;
  audience: string;
}): Passport {
  const passport = new passportDefault.Authenticator();
  passport.use(
    "jwt",
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKeyProvider: (_req, rawJwt, done) => {
          let kid: string | undefined;
          try {
            kid = JSON.parse(Buffer.from(String(rawJwt).split(".")[0] ?? "", "base64url").toString("utf8")).kid;
          } catch {
            kid = undefined;
          }
          opts.keys.keyFor(kid).then(
            (key) => done(null, key as unknown as string),
            (err: unknown) => done(err),
          );
        },
        algorithms: ["ES256"],
        issuer: opts.issuer,
        audience: opts.audience,
        jsonWebTokenOptions: { clockTolerance: 5 },
      },
      (claims: AccessTokenClaims, done: (err: unknown, user?: Principal | false, info?: unknown) => void) => {
        const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is Role => Roles.includes(r as Role)) : [];
        const scopes = typeof claims.scope === "string" ? claims.scope.split(" ").filter((s): s is Scope => Scopes.includes(s as Scope)) : [];
        if (!claims.sub || !claims.sid || !claims.username) return done(null, false, { message: "Token is missing claims" });
        opts.revokedSessions.isRevoked(claims.sid).then(
          (revoked) =>
            revoked
              ? done(null, false, { message: "Token has been revoked" })
              : done(null, { kind: "user", sub: claims.sub!, username: claims.username!, roles, scopes, sid: claims.sid! }),
          (err: unknown) => done(err),
        );
      },
    ),
  );
  passport.use("api-key", new ApiKeyStrategy(opts.apiKeys));
  return passport;
}
