import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type Joi from "joi";
import { Headers, MeridianError, validate, type Principal } from "@meridian/contracts";
import { runWithContext, saneCorrelationId } from "./context.js";
import { databaseUnavailable } from "./db.js";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";

export interface HandlerInput<T> {
  data: T;
  correlationId: string;
  /** Set when the gateway authenticated the caller. */
  principal?: Principal;
  /** The subject the request came on (for endpoints on a wildcard subject). */
  subject: string;
}

export type Handler<T, R> = (input: HandlerInput<T>) => Promise<R> | R;

export interface EndpointDefinition<T, R> {
  subject: string;
  schema?: Joi.Schema<T>;
  /** When true, a request without a principal is refused before the handler runs. */
  requiresPrincipal?: boolean;
  handler: Handler<T, R>;
}

export interface EndpointStats {
  subject: string;
  requests: number;
  errors: number;
  total_ms: number;
}

function decodePrincipal(msg: Msg): Principal | undefined {
  const raw = msg.headers?.get(Headers.principal);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Principal;
  } catch {
    throw new MeridianError("BAD_REQUEST", "Malformed principal header");
  }
}

function decodeBody(msg: Msg): unknown {
  if (msg.data.length === 0) return {};
  try {
    return msg.json();
  } catch {
    throw new MeridianError("BAD_REQUEST", "Payload is not valid JSON");
  }
}

function reply(msg: Msg, correlationId: string, body: unknown, error?: MeridianError): void {
  const h = natsHeaders();
  h.set(Headers.correlationId, correlationId);
  if (error) {
    h.set(Headers.serviceError, error.message);
    h.set(Headers.serviceErrorCode, String(error.status));
  }
  msg.respond(JSON.stringify(error ? error.toPayload() : body ?? null), { headers: h });
}

/** Requests being handled, per connection: shutdown waits for them before draining the connection. */
const inFlight = new WeakMap<NatsConnection, Set<Promise<void>>>();

/**
 * Wait (at most `timeoutMs`) until every request the endpoints on `nc` took is answered. Call it after their
 * subscriptions stopped taking requests and before `nc.drain()`: drain does not wait for async handlers, and a
 * reply after it, or a query after the pool closed, would be lost. True when all were answered in time.
 */
export async function endpointsSettled(nc: NatsConnection, timeoutMs: number): Promise<boolean> {
  const pending = inFlight.get(nc);
  if (!pending || pending.size === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const settled = Promise.allSettled([...pending]).then(() => true as const);
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The one wrapper around every request/reply handler: decode, validate, run inside the caller's
 * correlation context, encode, map errors, log and count. Replicas share a queue group.
 */
export function serveEndpoint<T, R>(
  nc: NatsConnection,
  queue: string,
  logger: Logger,
  def: EndpointDefinition<T, R>,
  metrics?: ServiceMetrics,
): { subscription: Subscription; stats: EndpointStats } {
  const stats: EndpointStats = { subject: def.subject, requests: 0, errors: 0, total_ms: 0 };
  const handle = async (msg: Msg): Promise<void> => {
    const correlationId = saneCorrelationId(msg.headers?.get(Headers.correlationId));
    await runWithContext({ correlationId, subject: def.subject }, async () => {
      const started = performance.now();
      stats.requests++;
      try {
        const principal = decodePrincipal(msg);
        if (def.requiresPrincipal && !principal) throw new MeridianError("UNAUTHENTICATED", "Authentication required");
        let data = decodeBody(msg) as T;
        if (def.schema) {
          const result = validate(def.schema, data);
          if (result.problems) throw new MeridianError("VALIDATION_FAILED", "Request validation failed", result.problems);
          data = result.value;
        }
        const result = await def.handler({ data, correlationId, subject: msg.subject, ...(principal ? { principal } : {}) });
        reply(msg, correlationId, result);
        // Every request is logged once at the edge (the gateway's access line, same correlation id); here only when asked.
        if (logger.isDebugEnabled()) logger.debug("request handled", { duration_ms: Math.round(performance.now() - started), outcome: "ok" });
      } catch (err) {
        stats.errors++;
        const known = err instanceof MeridianError || databaseUnavailable(err);
        const error =
          err instanceof MeridianError ? err : known ? new MeridianError("SERVICE_UNAVAILABLE", "The service's database is not available") : new MeridianError("INTERNAL", "Internal error");
        if (known) logger.info("request refused", { code: error.code, reason: error.message });
        else logger.error("request failed", { error: err });
        reply(msg, correlationId, undefined, error);
        metrics?.natsRequestErrors.inc({ subject: def.subject, code: error.code });
      } finally {
        const ms = performance.now() - started;
        stats.total_ms += ms;
        metrics?.natsRequests.inc({ subject: def.subject });
        metrics?.natsRequestDuration.observe({ subject: def.subject }, ms / 1000);
      }
    });
  };
  const subscription = nc.subscribe(def.subject, {
    queue,
    callback: (err, msg) => {
      if (err) {
        logger.error("subscription error", { subject: def.subject, error: err });
        return;
      }
      const pending = inFlight.get(nc) ?? new Set<Promise<void>>();
      inFlight.set(nc, pending);
      const done = handle(msg);
      pending.add(done);
      void done
        .catch((err: unknown) => logger.error("request handling failed", { subject: def.subject, error: err }))
        .finally(() => pending.delete(done));
    },
  });
  return { subscription, stats };
}
