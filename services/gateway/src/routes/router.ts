import { Router, type RequestHandler, type Response } from "express";
import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { Headers, MeridianError, type ErrorPayload } from "@meridian/contracts";
import { fromNatsError } from "@meridian/service-kit";
import type { RevocationWatch } from "../auth/revocations.js";
import { authenticate, authorize, type AuthenticateDeps } from "../middleware/authenticate.js";
import type { Limiter, RateLimitClass } from "../middleware/rate-limit.js";
import { validateInput, type ValidatedInput } from "../middleware/validate.js";
import type { RouteSpec } from "./route-table.js";

const JSON_TYPE = "application/json; charset=utf-8";

function serviceError(msg: Msg): MeridianError {
  let payload: Partial<ErrorPayload> | undefined;
  try {
    payload = msg.json<ErrorPayload>();
  } catch {
    payload = undefined;
  }
  return MeridianError.fromPayload(payload);
}

/**
 * Forward one validated call to its owning service. The reply is already the JSON body, so its bytes go out
 * as they came; only a route that picks its status from the reply parses it. Errors arrive as
 * `Nats-Service-Error` headers and become the envelope.
 */
function forward(route: RouteSpec, nc: NatsConnection, timeoutMs: number, revocations: RevocationWatch): RequestHandler {
  return async (_req, res: Response) => {
    const input = res.locals.input as ValidatedInput;
    const payload = { ...route.defaults, ...input.query, ...input.body, ...input.params, ...input.headers };
    const h = natsHeaders();
    h.set(Headers.correlationId, res.locals.correlationId as string);
    if (res.locals.principalHeader) h.set(Headers.principal, res.locals.principalHeader as string);
    let msg: Msg;
    try {
      msg = await nc.request(route.subject, JSON.stringify(payload), { timeout: timeoutMs + (route.extraTimeoutMs?.(payload) ?? 0), headers: h });
    } catch (err) {
      throw fromNatsError(err) ?? err;
    } finally {
      // Logout, refresh-token reuse and key revocation write the revocation bucket before replying.
      if (route.revokes) await revocations.caughtUp().catch(() => undefined);
    }
    if (msg.headers?.get(Headers.serviceErrorCode)) throw serviceError(msg);
    if (route.success.status === 204) {
      res.status(204).end();
      return;
    }
    const status = route.statusOf ? route.statusOf(msg.json<unknown>()) : route.success.status;
    res.status(status).setHeader("Content-Type", JSON_TYPE);
    res.send(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength));
  };
}

/** Per route, in order: rate limit (by IP), authenticate, authorize, validate, forward. */
export function buildRouter(
  table: RouteSpec[],
  deps: AuthenticateDeps & { nc: NatsConnection; limiters: Record<RateLimitClass, Limiter>; timeoutMs: number },
): Router {
  const router = Router();
  const authenticated = authenticate(deps);
  for (const route of table) {
    const chain: RequestHandler[] = [deps.limiters[route.rateLimit](route.cost)];
    if (route.auth === "required") {
      chain.push(authenticated);
      chain.push(authorize({ ...(route.roles ? { roles: route.roles } : {}), ...(route.scope ? { scope: route.scope } : {}) }));
    }
    chain.push(validateInput(route), forward(route, deps.nc, deps.timeoutMs, deps.revocations));
    router[route.method](route.path, ...chain);
  }
  return router;
}
