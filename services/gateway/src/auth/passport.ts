import type { Request } from "express";
import passportDefault from "passport";
import { Strategy } from "passport-strategy";
import { MeridianError } from "@meridian/contracts";
import type { CredentialVerifier, VerifiedCredential } from "@meridian/service-kit";

export type Passport = InstanceType<typeof passportDefault.Authenticator>;

const BEARER = /^bearer\s+(\S+)$/i;

/**
 * The bearer access token through the shared credential verifier (the same one realtime uses). A refused
 * token fails with its MeridianError as the challenge; auth unreachable is an error (503/504), not a 401.
 */
class AccessTokenStrategy extends Strategy {
  name = "jwt";

  constructor(private readonly verifier: CredentialVerifier) {
    super();
  }

  override authenticate(req: Request): void {
    const token = BEARER.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return this.fail(new MeridianError("UNAUTHENTICATED", "Authentication required"), 401);
    this.verifier.verifyAccessToken(token).then(
      (verified: VerifiedCredential) => this.success(verified),
      (err: unknown) => (err instanceof MeridianError && err.status === 401 ? this.fail(err, 401) : this.error(err instanceof Error ? err : new Error(String(err)))),
    );
  }
}

/** A passport instance whose `jwt` strategy yields the {@link VerifiedCredential} of a bearer access token. */
export function createPassport(verifier: CredentialVerifier): Passport {
  const passport = new passportDefault.Authenticator();
  passport.use("jwt", new AccessTokenStrategy(verifier));
  return passport;
}
