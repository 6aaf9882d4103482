import { Router, type RequestHandler } from "express";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Passport } from "../auth/passport.js";
import type { Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { authenticate, authorize } from "../middleware/authenticate.js";
import type { RateLimitClass } from "../middleware/rate-limit.js";
import { validateInput, type ValidatedInput } from "../middleware/validate.js";
import type { RouteSpec } from "./route-table.js";

/** Forward one validated call to its owning service and answer with its reply or its error. */
function forward(route: RouteSpec, nc: NatsConnection, timeoutMs: number): RequestHandler {
  return async (_req, res) => {
    const input = res.locals.input as ValidatedInput;
    const principal = res.locals.principal as Principal | undefined;
    const payload = { ...route.defaults, ...input.query, ...input.body, ...input.params, ...input.headers };
    const reply = await requestJson<unknown>(nc, route.subject, payload, {
      timeoutMs: timeoutMs + (route.extraTimeoutMs?.(payload) ?? 0),
      correlationId: res.locals.correlationId as string,
      ...(principal ? { principal } : {}),
    });
    if (route.success.status === 204) res.status(204).end();
    else res.status(route.statusOf?.(reply) ?? route.success.status).json(reply);
  };
}

/** Per route, in order: rate limit (by IP), authenticate, authorize, validate, forward. */
export function buildRouter(
  table: RouteSpec[],
  deps: { nc: NatsConnection; passport: Passport; limiters: Record<RateLimitClass, RequestHandler>; timeoutMs: number },
): Router {
  const router = Router();
  for (const route of table) {
    const chain: RequestHandler[] = [deps.limiters[route.rateLimit]];
    if (route.auth === "required") {
      chain.push(authenticate(deps.passport));
      chain.push(authorize({ ...(route.roles ? { roles: route.roles } : {}), ...(route.scope ? { scope: route.scope } : {}) }));
    }
    chain.push(validateInput(route), forward(route, deps.nc, deps.timeoutMs));
    router[route.method](route.path, ...chain);
  }
  return router;
}
