import { Router, type RequestHandler, type Response } from "express";
import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { EXPORT_COLUMNS, Headers } from "@meridian/contracts";
import { busUnavailable, fromNatsError, natsUnavailable, serviceErrorOf, type RevocationWatch } from "@meridian/service-kit";
import { authenticate, authorize, type AuthenticateDeps } from "../middleware/authenticate.js";
import { rateLimitClassOf, type Limiter, type RateLimitClass } from "../middleware/rate-limit.js";
import { validateInput, type ValidatedInput } from "../middleware/validate.js";
import type { RouteSpec } from "./route-table.js";

const JSON_TYPE = "application/json; charset=utf-8";


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
    if (natsUnavailable(nc)) throw busUnavailable();
    let msg: Msg;
    try {
      msg = await nc.request(route.subject, JSON.stringify(payload), { timeout: timeoutMs + (route.extraTimeoutMs?.(payload) ?? 0), headers: h });
    } catch (err) {
      throw fromNatsError(err) ?? err;
    } finally {
      // Logout, refresh-token reuse and key revocation write the revocation bucket before replying.
      if (route.revokes) await revocations.caughtUp().catch(() => undefined);
    }
    const refused = serviceErrorOf(msg);
    if (refused) throw refused;
    if (route.success.status === 204) {
      res.status(204).end();
      return;
    }
    const status = route.statusOf ? route.statusOf(msg.json<unknown>()) : route.success.status;
    res.status(status).setHeader("Content-Type", JSON_TYPE);
    res.send(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength));
  };
}

const csvCell = (v: unknown) => {
  const text = v === null || v === undefined ? "" : String(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/**
 * A history too long for one reply: ask the owning service page after page (its cursor in `next`) and write
 * each page out as it comes, waiting for the client to drain, so the gateway never holds the whole of it.
 */
function streamPages(route: RouteSpec, nc: NatsConnection, timeoutMs: number): RequestHandler {
  return async (req, res: Response) => {
    const input = res.locals.input as ValidatedInput;
    const { format, ...query } = input.query as { format: "csv" | "json" } & Record<string, unknown>;
    const h = natsHeaders();
    h.set(Headers.correlationId, res.locals.correlationId as string);
    if (res.locals.principalHeader) h.set(Headers.principal, res.locals.principalHeader as string);
    const page = async (after: string | null) => {
      if (natsUnavailable(nc)) throw busUnavailable();
      let msg: Msg;
      try {
        msg = await nc.request(route.subject, JSON.stringify({ ...query, ...(after ? { after } : {}), limit: 1000 }), { timeout: timeoutMs, headers: h });
      } catch (err) {
        throw fromNatsError(err) ?? err;
      }
      const refused = serviceErrorOf(msg);
      if (refused) throw refused;
      return msg.json<{ items: Record<string, unknown>[]; next: string | null }>();
    };
    let closed = false;
    req.on("close", () => (closed = true));
    const write = (chunk: string) => (res.write(chunk) ? Promise.resolve() : new Promise<void>((r) => res.once("drain", () => r())));
    // The first page decides the status: a refusal still gets the JSON envelope.
    let current = await page(null);
    res.status(200).setHeader("Content-Type", format === "csv" ? "text/csv; charset=utf-8" : JSON_TYPE);
    res.setHeader("Content-Disposition", `attachment; filename="meridian-tasks.${format}"`);
    const columns = EXPORT_COLUMNS;
    await write(format === "csv" ? `${columns.join(",")}\n` : "[");
    let first = true;
    for (;;) {
      let out = "";
      for (const row of current.items) {
        if (format === "csv") out += `${columns.map((c) => csvCell(row[c])).join(",")}\n`;
        else {
          out += `${first ? "" : ","}\n${JSON.stringify(row)}`;
          first = false;
        }
      }
      if (out) await write(out);
      if (!current.next || closed) break;
      try {
        current = await page(current.next);
      } catch {
        // Headers are gone: end the body short, the client sees a truncated file rather than a silent one.
        res.destroy();
        return;
      }
    }
    res.end(format === "csv" ? "" : "\n]\n");
  };
}

/**
 * Per route, in order. Public: rate limit (by client IP), validate, forward. Authenticated: authenticate, rate
 * limit (by user or API key, so the budget follows the identity, not the address), authorize, validate, forward.
 */
export function buildRouter(
  table: RouteSpec[],
  deps: AuthenticateDeps & { nc: NatsConnection; limiters: Record<RateLimitClass, Limiter>; timeoutMs: number },
): Router {
  const router = Router();
  const authenticated = authenticate(deps);
  for (const route of table) {
    const limit = deps.limiters[rateLimitClassOf(route.rateLimit, route.method)]({
      ...(route.cost ? { cost: route.cost } : {}),
      ...(route.rateLimitFailClosed ? { failClosed: true } : {}),
    });
    const chain: RequestHandler[] = [];
    if (route.auth === "public") chain.push(limit);
    else {
      chain.push(authenticated, limit);
      chain.push(authorize({ ...(route.roles ? { roles: route.roles } : {}), ...(route.scope ? { scope: route.scope } : {}) }));
    }
    chain.push(validateInput(route), route.streamPages ? streamPages(route, deps.nc, deps.timeoutMs) : forward(route, deps.nc, deps.timeoutMs, deps.revocations));
    router[route.method](route.path, ...chain);
  }
  return router;
}
