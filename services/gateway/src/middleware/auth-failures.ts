import type { NextFunction, Request, Response } from "express";
import type { GatewayConfig } from "../config.js";
import { clientIpKey, tooManyRequests, type Outcome, type WindowStore } from "./rate-limit.js";

/** How a verification ended: `refused` (a 401) is charged to the client's budget, anything else is not. */
export type Settle = (refused: boolean) => void;

/**
 * Meters verification of credentials the gateway does not already know, per client IP (TRUST_PROXY hops, IPv6 by
 * its /64, as for public routes): `verify` runs only while the `auth_failures` budget has room, and gets the
 * `settle` to call with its outcome. An exhausted budget is a 429 before any verification.
 */
export type AuthFailureMeter = (req: Request, res: Response, next: NextFunction, verify: (settle: Settle) => void) => void;

/**
 * Look first (one script call), charge only a 401 (a second): a successful verification, however many run at
 * once, costs nothing, so legitimate clients behind one address are never refused for each other's logins.
 * A concurrent flood can overshoot the budget by the requests in flight when it runs out. Without Redis the
 * same window is kept in this process's memory (N replicas allow up to N× the budget).
 */
export function authFailureMeter(config: Readonly<GatewayConfig>, store: WindowStore): AuthFailureMeter {
  const limit = config.RATE_LIMIT_AUTH_FAILURES_MAX;
  const windowMs = config.RATE_LIMIT_AUTH_FAILURES_WINDOW_MS;
  const prefix = `${config.RATE_LIMIT_PREFIX}auth_failures:`;
  return (req, res, next, verify) => {
    const key = prefix + clientIpKey(req);
    const charge: Settle = (refused) => {
      if (!refused) return;
      store.shared(key, 1, limit, windowMs).catch((err: unknown) => {
        store.unavailable(err);
        store.local.consume(key, 1, limit, windowMs);
      });
    };
    const decide = ([, ttl, fits]: Outcome) => {
      if (fits) return verify(charge);
      tooManyRequests(res, ttl, (retryAfter) => `Too many failed authentications from this address; retry in ${retryAfter} s`);
    };
    store
      .peekShared(key, limit)
      .then(decide, (err: unknown) => {
        store.unavailable(err);
        decide(store.local.peek(key, limit));
      })
      .catch(next);
  };
}
