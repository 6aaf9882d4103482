import type { NextFunction, Request, Response } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import type { GatewayConfig } from "../config.js";
import { tooManyRequests, type Outcome, type WindowStore } from "./rate-limit.js";

/** How a verification ended: `refused` (a 401) keeps the unit it reserved, anything else gives it back. */
export type Settle = (refused: boolean) => void;

/**
 * Meters verification of credentials the gateway does not already know, per client IP (TRUST_PROXY hops, IPv6 by
 * its /64, as for public routes): `verify` runs only after a unit of the `auth_failures` budget is reserved, and
 * gets the `settle` to call with its outcome. An exhausted budget is a 429 before any verification.
 */
export type AuthFailureMeter = (req: Request, res: Response, next: NextFunction, verify: (settle: Settle) => void) => void;

/**
 * Reserve first, refund on success: one script call per refused credential, exact under a concurrent flood.
 * Without Redis the same window is kept in this process's memory (N replicas allow up to N× the budget).
 */
export function authFailureMeter(config: Readonly<GatewayConfig>, store: WindowStore): AuthFailureMeter {
  const limit = config.RATE_LIMIT_AUTH_FAILURES_MAX;
  const windowMs = config.RATE_LIMIT_AUTH_FAILURES_WINDOW_MS;
  const prefix = `${config.RATE_LIMIT_PREFIX}auth_failures:ip:`;
  return (req, res, next, verify) => {
    const key = prefix + ipKeyGenerator(req.ip ?? "unknown", 64);
    const settleFor = (shared: boolean): Settle => (refused) => {
      if (refused) return;
      if (!shared) return store.local.refund(key, 1);
      store.refundShared(key, 1).catch((err: unknown) => store.unavailable(err));
    };
    const decide = (shared: boolean) => ([, ttl, allowed]: Outcome) => {
      if (allowed) return verify(settleFor(shared));
      tooManyRequests(res, ttl, (retryAfter) => `Too many failed authentications from this address; retry in ${retryAfter} s`);
    };
    store.shared(key, 1, limit, windowMs).then(decide(true), (err: unknown) => {
      store.unavailable(err);
      decide(false)(store.local.consume(key, 1, limit, windowMs));
    }).catch(next);
  };
}
