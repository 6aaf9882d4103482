import type { RequestHandler } from "express";
import { HttpHeaders } from "@meridian/contracts";
import { runWithContext, saneCorrelationId, type Logger } from "@meridian/service-kit";

/**
 * Correlation id (the caller's when sane, else a new one) echoed in the response and bound to every
 * log line of the request; `X-Process-Time: 12.34ms` set as headers go out; one flat access-log line per
 * request (no body, no headers), a warning over `slowRequestMs`.
 */
export function requestContext(logger: Logger, slowRequestMs: number): RequestHandler {
  return (req, res, next) => {
    const correlationId = saneCorrelationId(req.headers[HttpHeaders.correlationId.toLowerCase()]);
    const started = performance.now();
    res.locals.correlationId = correlationId;
    res.setHeader(HttpHeaders.correlationId, correlationId);

    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof writeHead>) {
      if (!this.headersSent) this.setHeader(HttpHeaders.processTime, `${(performance.now() - started).toFixed(2)}ms`);
      return writeHead.apply(this, args);
    } as typeof writeHead;

    res.once("finish", () => {
      const duration = Math.round((performance.now() - started) * 100) / 100;
      const path = req.originalUrl.split("?", 1)[0];
      if (duration > slowRequestMs) {
        logger.warn({ message: "slow request", correlation_id: correlationId, method: req.method, path, status: res.statusCode, duration_ms: duration, threshold_ms: slowRequestMs });
      } else {
        logger.info({ message: "request", correlation_id: correlationId, method: req.method, path, status: res.statusCode, duration_ms: duration });
      }
    });
    runWithContext({ correlationId }, next);
  };
}
