import type { RequestHandler } from "express";
import { HttpHeaders } from "@meridian/contracts";
import { runWithContext, saneCorrelationId, type Logger } from "@meridian/service-kit";

/**
 * Correlation id (the caller's when sane, else a new one) echoed in the response and bound to every
 * log line of the request; X-Process-Time set as headers go out; one access log line per request.
 */
export function requestContext(logger: Logger, slowRequestMs: number): RequestHandler {
  return (req, res, next) => {
    const correlationId = saneCorrelationId(req.get(HttpHeaders.correlationId));
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    res.locals.correlationId = correlationId;
    res.setHeader(HttpHeaders.correlationId, correlationId);

    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof writeHead>) {
      if (!this.headersSent) this.setHeader(HttpHeaders.processTime, elapsedMs().toFixed(2));
      return writeHead.apply(this, args);
    } as typeof writeHead;

    res.on("finish", () => {
      const duration = Math.round(elapsedMs() * 100) / 100;
      const fields = { correlation_id: correlationId, method: req.method, path: req.path, status: res.statusCode, duration_ms: duration };
      if (duration > slowRequestMs) logger.warn("slow request", { ...fields, threshold_ms: slowRequestMs });
      else logger.info("request", fields);
    });
    runWithContext({ correlationId }, next);
  };
}
