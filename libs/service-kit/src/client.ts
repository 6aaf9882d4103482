import { errors, headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { Headers, MeridianError, type ErrorPayload, type Principal } from "@meridian/contracts";
import { currentContext } from "./context.js";

/** NATS failures as Meridian errors: no responders, no connection or a refused permission → 503, timeout → 504; others undefined. */
export function fromNatsError(err: unknown): MeridianError | undefined {
  if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
    return new MeridianError("SERVICE_UNAVAILABLE", "The service that owns this request is not available");
  }
  if (err instanceof errors.TimeoutError || (err instanceof errors.RequestError && err.cause instanceof errors.TimeoutError)) {
    return new MeridianError("TIMEOUT", "The service did not answer in time");
  }
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) {
    return busUnavailable();
  }
  // The server refused this user the subject: a deployment whose permission matrix lacks a call, not the caller's fault.
  if (err instanceof errors.PermissionViolationError || (err instanceof errors.RequestError && err.cause instanceof errors.PermissionViolationError)) {
    // The server's words (user, subject) stay on `cause` for logs and tests; callers only learn it was refused.
    return Object.assign(new MeridianError("SERVICE_UNAVAILABLE", "The message bus refused this call"), { cause: err });
  }
  return undefined;
}

/**
 * True while the client cannot reach any server (closed, or disconnected and reconnecting): a request now
 * would sit in the client's buffer until its timeout, so callers answer 503 at once instead. nats.js v3 keeps
 * the live state on its protocol handler (`connected`); without one, only `isClosed()` counts.
 */
export function natsUnavailable(nc: NatsConnection): boolean {
  if (nc.isClosed()) return true;
  return (nc as NatsConnection & { protocol?: { connected?: boolean } }).protocol?.connected === false;
}

/** The refusal for a request made while natsUnavailable(nc). */
export const busUnavailable = () => new MeridianError("SERVICE_UNAVAILABLE", "The message bus is not available");

export interface RequestOptions {
  timeoutMs: number;
  correlationId?: string;
  principal?: Principal;
}

/**
 * Request/reply with the correlation id (and the caller, if any) in headers. A service error comes
 * back as the same MeridianError it was thrown as; no responders and timeouts get codes of their own.
 */
export async function requestJson<R>(nc: NatsConnection, subject: string, body: unknown, options: RequestOptions): Promise<R> {
  const h = natsHeaders();
  const correlationId = options.correlationId ?? currentContext()?.correlationId;
  if (correlationId) h.set(Headers.correlationId, correlationId);
  if (options.principal) h.set(Headers.principal, JSON.stringify(options.principal));
  if (natsUnavailable(nc)) throw busUnavailable();
  let msg;
  try {
    msg = await nc.request(subject, JSON.stringify(body ?? {}), { timeout: options.timeoutMs, headers: h });
  } catch (err) {
    throw fromNatsError(err) ?? err;
  }
  const refused = serviceErrorOf(msg);
  if (refused) throw refused;
  return msg.json<R>();
}

/** The MeridianError a reply carries in the standard `Nats-Service-Error` headers, if it is one. */
export function serviceErrorOf(msg: Msg): MeridianError | undefined {
  if (!msg.headers?.get(Headers.serviceErrorCode)) return undefined;
  let payload: Partial<ErrorPayload> | undefined;
  try {
    payload = msg.json<ErrorPayload>();
  } catch {
    payload = undefined;
  }
  return MeridianError.fromPayload(payload);
}
