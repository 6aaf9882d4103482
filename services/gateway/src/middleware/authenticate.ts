import type { NextFunction, Request, Response } from "express";
import { HttpHeaders, MeridianError, type Principal, type Role, type Scope } from "@meridian/contracts";
import type { ApiKeyVerifier } from "../auth/api-key-verifier.js";
import { CredentialCache, verified, type Verified } from "../auth/credential-cache.js";
import type { Passport } from "../auth/passport.js";
import type { RevocationWatch } from "../auth/revocations.js";

export function apiKeyFrom(req: Request): string | undefined {
  const header = req.headers[HttpHeaders.apiKey.toLowerCase()];
  if (typeof header === "string" && header) return header;
  const auth = req.headers.authorization;
  return auth?.startsWith("ApiKey ") ? auth.slice(7).trim() : undefined;
}

const BEARER = /^bearer\s+(\S+)$/i;

function expiryOf(token: string): number {
  try {
    const exp = (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

function describeFailure(info: unknown): string {
  const message = (info as { message?: string } | undefined)?.message ?? "";
  if (/expired/i.test(message)) return "Token has expired";
  if (/revoked/i.test(message)) return "Token has been revoked";
  if (/no auth token/i.test(message) || message === "") return "Authentication required";
  return "Invalid credentials";
}

function refuse(res: Response, next: NextFunction, code: "UNAUTHENTICATED" | "INVALID_TOKEN" | "TOKEN_REVOKED", detail: string): void {
  res.setHeader("WWW-Authenticate", 'Bearer realm="meridian"');
  next(new MeridianError(code, detail));
}

export interface AuthenticateDeps {
  passport: Passport;
  apiKeys: ApiKeyVerifier;
  revocations: RevocationWatch;
  tokens?: CredentialCache;
}

/**
 * `X-API-Key` (or `Authorization: ApiKey …`) through the API key verifier, else the bearer token: from the
 * cache of verified tokens (still checked against revoked sessions), or through passport once and then cached
 * until it expires. A missing or bad credential is a 401 envelope.
 */
export function authenticate(deps: AuthenticateDeps) {
  const tokens = deps.tokens ?? new CredentialCache();
  const accept = (res: Response, next: NextFunction, v: Verified) => {
    res.locals.principal = v.principal;
    res.locals.principalHeader = v.header;
    next();
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const key = apiKeyFrom(req);
    if (key) {
      deps.apiKeys.verify(key).then(
        (v) => accept(res, next, v),
        (err: unknown) => (err instanceof MeridianError && err.status === 401 ? refuse(res, next, "INVALID_TOKEN", err.message) : next(err)),
      );
      return;
    }
    const token = BEARER.exec(req.headers.authorization ?? "")?.[1];
    const hit = token ? tokens.get(token) : undefined;
    if (hit) {
      if (deps.revocations.sessionRevoked(hit.principal.sid ?? "")) return refuse(res, next, "TOKEN_REVOKED", "Token has been revoked");
      return accept(res, next, hit);
    }
    deps.passport.authenticate("jwt", { session: false }, (err: unknown, principal: Principal | false, info: unknown) => {
      if (err) return next(err);
      if (!principal) {
        const detail = describeFailure(info);
        return refuse(res, next, detail === "Token has been revoked" ? "TOKEN_REVOKED" : detail === "Authentication required" ? "UNAUTHENTICATED" : "INVALID_TOKEN", detail);
      }
      const entry = verified(principal, token ? expiryOf(token) : 0);
      if (token && entry.until > Date.now()) tokens.set(token, entry);
      accept(res, next, entry);
    })(req, res, next);
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
