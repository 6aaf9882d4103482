import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { MeridianError } from "@meridian/contracts";
import { currentContext, fromNatsError, type Logger } from "@meridian/service-kit";

/** The one JSON error body every failure leaves the gateway with. */
export interface ErrorEnvelope {
  error: string;
  code: string;
  detail: unknown;
  correlation_id: string;
  retry_after?: number;
}

/** Seconds a service asks the client to wait (a locked sign-in), carried in the error's details. */
function retryAfterOf(err: MeridianError): number | undefined {
  const value = (err.details as { retry_after?: unknown } | undefined)?.retry_after;
  return err.status === 429 && typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

export function envelope(err: MeridianError, correlationId: string): ErrorEnvelope {
  const listDetail = err.code === "VALIDATION_FAILED" || err.code === "WEAK_PASSWORD";
  const retryAfter = retryAfterOf(err);
  return {
    error: STATUS_CODES[err.status] ?? "Error",
    code: err.code,
    detail: listDetail && err.details ? err.details : err.message,
    correlation_id: correlationId,
    ...(retryAfter !== undefined ? { retry_after: retryAfter } : {}),
  };
}

/** Body-parser, router and other framework errors mapped to codes; anything unknown is an internal error. */
function toMeridianError(err: unknown): MeridianError {
  if (err instanceof MeridianError) return err;
  const e = err as { type?: string; status?: number; code?: string };
  if (e?.type === "entity.too.large") return new MeridianError("PAYLOAD_TOO_LARGE", "Request body is too large");
  if (e?.type === "entity.parse.failed") return new MeridianError("BAD_REQUEST", "Request body is not valid JSON");
  if (e?.type === "charset.unsupported" || e?.type === "encoding.unsupported") {
    return new MeridianError("UNSUPPORTED_MEDIA_TYPE", "Unsupported body encoding");
  }
  // zlib's Z_DATA_ERROR / Z_BUF_ERROR: the body announced gzip and is not (or is cut short).
  if (typeof e?.code === "string" && e.code.startsWith("Z_")) return new MeridianError("UNSUPPORTED_MEDIA_TYPE", "The body is not valid gzip");
  if (e?.type === "request.aborted") return new MeridianError("BAD_REQUEST", "The request body was cut short");
  // The router's own refusals, e.g. a path segment that is not valid percent-encoding.
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) return new MeridianError("BAD_REQUEST", "Malformed request");
  // NATS calls outside the request client (the revoked-sessions check while NATS reconnects) fail the same way.
  const fromNats = fromNatsError(err);
  if (fromNats) return fromNats;
  return new MeridianError("INTERNAL", "Internal error");
}

/**
 * The envelope as raw HTTP/1.1 bytes, for what Node's parser refuses before Express sees a request
 * (headers too large → 431, a malformed request line or framing → 400, a request too slow → 408).
 */
export function clientErrorResponse(err: { code?: string }): string {
  const error =
    err.code === "HPE_HEADER_OVERFLOW"
      ? new MeridianError("HEADERS_TOO_LARGE", "Request headers are too large")
      : err.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW"
        ? new MeridianError("PAYLOAD_TOO_LARGE", "Chunk extensions are too large")
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new MeridianError("REQUEST_TIMEOUT", "The request took too long to arrive")
          : new MeridianError("BAD_REQUEST", "Malformed HTTP request");
  const body = JSON.stringify(envelope(error, randomUUID()));
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? "Error"}\r\n` +
    "Content-Type: application/json; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}

export function sendError(res: Response, err: MeridianError): void {
  const correlationId = (res.locals.correlationId as string | undefined) ?? currentContext()?.correlationId ?? "";
  const body = envelope(err, correlationId);
  if (body.retry_after !== undefined) res.setHeader("Retry-After", String(body.retry_after));
  res.status(err.status).json(body);
}

/** Last middleware: everyday errors are answered with their code; unknown ones are logged and become 500. */
export function errorHandler(logger: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const mapped = toMeridianError(err);
    if (mapped.code === "INTERNAL") logger.error("unhandled error", { error: err });
    sendError(res, mapped);
  };
}
