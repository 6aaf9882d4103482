import type { Request, RequestHandler } from "express";
import { Counter, Histogram, LATENCY_BUCKETS, type ServiceMetrics } from "@meridian/service-kit";

/** The matched route's pattern (`/api/v1/tasks/:id`), never the raw path: label values stay bounded. */
function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === "string") return `${req.baseUrl}${route.path}`;
  if (req.originalUrl.startsWith("/socket.io")) return "/socket.io";
  if (req.originalUrl.startsWith("/api/docs")) return "/api/docs";
  return "unmatched";
}

/** Request count and latency by method, route pattern and status, recorded when the response is finished. */
export function httpMetrics(metrics: ServiceMetrics): RequestHandler {
  const registers = [metrics.registry];
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({ name: "meridian_http_requests_total", help: "HTTP requests answered, by method, route pattern and status", labelNames, registers });
  const duration = new Histogram({
    name: "meridian_http_request_duration_seconds",
    help: "HTTP request latency, by method, route pattern and status",
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  return (req, res, next) => {
    const started = performance.now();
    res.once("finish", () => {
      const labels = { method: req.method, route: routeOf(req), status: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - started) / 1000);
    });
    next();
  };
}
