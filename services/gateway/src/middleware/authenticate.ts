import type { NextFunction, Request, Response } from "express";
import { HttpHeaders, MeridianError, type Principal, type Role, type Scope } from "@meridian/contracts";
import type { CredentialVerifier, RevocationWatch, VerifiedCredential } from "@meridian/service-kit";
import { CredentialCache, verified, type Verified } from "../auth/credential-cache.js";
import type { Passport } from "../auth/passport.js";
import type { AuthFailureMeter, Settle } from "./auth-failures.js";

export function apiKeyFrom(req: Request): string | undefined {
  const header = req.headers[HttpHeaders.apiKey.toLowerCase()];
  if (typeof header === "string" && header) return header;
  const auth = req.headers.authorization;
  return auth?.startsWith("ApiKey ") ? auth.slice(7).trim() : undefined;
}

const BEARER = /^bearer\s+(\S+)$/i;

function refuse(res: Response, next: NextFunction, err: MeridianError): void {
  res.setHeader("WWW-Authenticate", 'Bearer realm="meridian"');
  next(err);
}

const asRefusal = (challenge: unknown) =>
  challenge instanceof MeridianError ? challenge : new MeridianError("UNAUTHENTICATED", "Authentication required");

export interface AuthenticateDeps {
  passport: Passport;
  credentials: CredentialVerifier;
  revocations: RevocationWatch;
  tokens?: CredentialCache;
  /** Meters verification of credentials not known good, per client IP; absent, nothing is metered. */
  failures?: AuthFailureMeter;
}

const isRefusal = (err: unknown) => err instanceof MeridianError && err.status === 401;
const unmetered = (_req: Request, _res: Response, _next: NextFunction, verify: (settle: Settle) => void) => verify(() => undefined);

/**
 * `X-API-Key` (or `Authorization: ApiKey …`) or the bearer token, both through the shared credential verifier
 * (tokens by passport's strategy). A verified token is cached until it expires, still checked against revoked
 * sessions on every hit. A refused credential is a 401 envelope; auth unreachable is 503/504.
 * A credential not known good (not cached) is verified only within its client IP's `auth_failures` budget,
 * which each 401 spends; a cached one never touches that budget.
 */
export function authenticate(deps: AuthenticateDeps) {
  const tokens = deps.tokens ?? new CredentialCache();
  const meter = deps.failures ?? unmetered;
  const accept = (res: Response, next: NextFunction, v: Verified) => {
    res.locals.principal = v.principal;
    res.locals.principalHeader = v.header;
    next();
  };
  const withApiKey = (key: string, res: Response, next: NextFunction, settle: Settle) => {
    deps.credentials.verifyApiKey(key).then(
      (v) => {
        settle(false);
        accept(res, next, verified(v.principal, 0));
      },
      (err: unknown) => {
        settle(isRefusal(err));
        if (!isRefusal(err)) return next(err);
        refuse(res, next, err as MeridianError);
      },
    );
  };
  const withToken = (token: string | undefined, req: Request, res: Response, next: NextFunction, settle: Settle) => {
    deps.passport.authenticate("jwt", { session: false }, (err: unknown, credential: VerifiedCredential | false, challenge: unknown) => {
      settle(!err && !credential);
      if (err) return next(err);
      if (!credential) return refuse(res, next, asRefusal(challenge));
      const entry = verified(credential.principal, credential.expiresAt ?? 0);
      if (token && entry.until > Date.now()) tokens.set(token, entry);
      accept(res, next, entry);
    })(req, res, next);
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const key = apiKeyFrom(req);
    if (key) {
      // Known good (auth's answer still cached in the verifier): nothing to meter.
      if (deps.credentials.hasCachedApiKey(key)) return withApiKey(key, res, next, () => undefined);
      return meter(req, res, next, (settle) => withApiKey(key, res, next, settle));
    }
    const token = BEARER.exec(req.headers.authorization ?? "")?.[1];
    const hit = token ? tokens.get(token) : undefined;
    if (hit) {
      if (deps.revocations.sessionRevoked(hit.principal.sid ?? "")) return refuse(res, next, new MeridianError("TOKEN_REVOKED", "Token has been revoked"));
      return accept(res, next, hit);
    }
    // Without any credential there is nothing to verify: a plain 401 that spends no budget.
    if (!token) return withToken(token, req, res, next, () => undefined);
    meter(req, res, next, (settle) => withToken(token, req, res, next, settle));
  };
}

/** Role and scope gates declared on the route. */
export function authorize(required: { roles?: readonly Role[]; scope?: Scope }) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const principal = res.locals.principal as Principal;
    if (required.roles && !principal.roles.some((r) => required.roles!.includes(r))) {
      return next(new MeridianError("FORBIDDEN", "Your role does not allow this"));
    }
    if (required.scope && !principal.scopes.includes(required.scope)) {
      return next(new MeridianError("FORBIDDEN", `Missing scope: ${required.scope}`));
    }
    next();
  };
}
