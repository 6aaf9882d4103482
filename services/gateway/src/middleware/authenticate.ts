import type { NextFunction, Request, Response } from "express";
import type { Passport } from "../auth/passport.js";
import { MeridianError, type Principal, type Role, type Scope } from "@meridian/contracts";
import { apiKeyFrom } from "../auth/passport.js";

function describeFailure(info: unknown): string {
  const message = (info as { message?: string; name?: string } | undefined)?.message ?? "";
  if (/expired/i.test(message)) return "Token has expired";
  if (/revoked/i.test(message)) return "Token has been revoked";
  if (/no auth token|no api key/i.test(message) || message === "") return "Authentication required";
  return "Invalid credentials";
}

/** Runs the strategy that matches the credentials presented; a missing or bad one is a 401 envelope. */
export function authenticate(passport: Passport) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const strategy = apiKeyFrom(req) ? "api-key" : "jwt";
    passport.authenticate(strategy, { session: false }, (err: unknown, principal: Principal | false, info: unknown) => {
      if (err) return next(err);
      if (!principal) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="meridian"');
        const detail = describeFailure(info);
        return next(new MeridianError(detail === "Token has been revoked" ? "TOKEN_REVOKED" : detail === "Authentication required" ? "UNAUTHENTICATED" : "INVALID_TOKEN", detail));
      }
      res.locals.principal = principal;
      next();
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
