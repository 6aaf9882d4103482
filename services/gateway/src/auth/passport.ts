import passportDefault from "passport";
import { ExtractJwt, Strategy as JwtStrategy } from "passport-jwt";
import { Roles, Scopes, type Principal, type Role, type Scope } from "@meridian/contracts";
import type { SigningKeyCache } from "@meridian/service-kit";
import type { RevocationWatch } from "./revocations.js";

export type Passport = InstanceType<typeof passportDefault.Authenticator>;

interface AccessTokenClaims {
  sub?: string;
  username?: string;
  roles?: unknown;
  scope?: unknown;
  sid?: string;
}

/**
 * A passport instance with the ES256 access-token strategy: algorithm, issuer, audience and expiry pinned;
 * key by kid from auth; session not revoked. It runs once per token: verified tokens are cached until expiry.
 */
export function createPassport(opts: { keys: SigningKeyCache; revocations: RevocationWatch; issuer: string; audience: string }): Passport {
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
        if (opts.revocations.sessionRevoked(claims.sid)) return done(null, false, { message: "Token has been revoked" });
        done(null, { kind: "user", sub: claims.sub, username: claims.username, roles, scopes, sid: claims.sid });
      },
    ),
  );
  return passport;
}
