import express, { type Express, type RequestHandler } from "express";
import { createProxyMiddleware, type RequestHandler as ProxyHandler } from "http-proxy-middleware";
import swaggerUi from "swagger-ui-express";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Passport } from "./auth/passport.js";
import { MeridianError, type HealthReport } from "@meridian/contracts";
import type { CredentialVerifier, Logger, RevocationWatch, ServiceMetrics } from "@meridian/service-kit";
import type { GatewayConfig } from "./config.js";
import { errorHandler } from "./errors.js";
import type { AuthFailureMeter } from "./middleware/auth-failures.js";
import type { Limiter, RateLimitClass } from "./middleware/rate-limit.js";
import { httpMetrics } from "./middleware/http-metrics.js";
import { contentEncodingGuard, inputGuard } from "./middleware/input-guard.js";
import { requestContext } from "./middleware/request-context.js";
import { corsPolicy, noStore, securityHeaders } from "./middleware/security.js";
import { buildOpenApiDocument } from "./openapi/document.js";
import { routes } from "./routes/route-table.js";
import { consoleRouter } from "./routes/console.js";
import { buildRouter } from "./routes/router.js";
import { systemRouteDocs, systemRouter, taskEventCatalogue } from "./routes/system.js";

export interface AppDeps {
  config: Readonly<GatewayConfig>;
  logger: Logger;
  nc: NatsConnection;
  passport: Passport;
  credentials: CredentialVerifier;
  revocations: RevocationWatch;
  limiters: Record<RateLimitClass, Limiter>;
  authFailures: AuthFailureMeter;
  readiness: () => Promise<HealthReport>;
  version: string;
  /** Recorded here, served only on the ops port (METRICS_PORT): the API port has no /metrics. */
  metrics: ServiceMetrics;
}

/**
 * The middleware order, outermost first:
 *  1. security headers (helmet: CSP, frame DENY, nosniff, referrer policy, HSTS in production; Permissions-Policy)
 *  2. CORS (answers preflights for configured origins)
 *  3. request context: correlation id, X-Process-Time, access log (warning over SLOW_REQUEST_MS); every /api/v1
 *     response, errors included, gets `Cache-Control: no-store` and `Pragma: no-cache`
 *  4. /socket.io passed through to the realtime service (before any body parsing)
 *  5. Content-Encoding (identity or gzip, else 415), the JSON body parser with a size limit (after inflation),
 *     then the input guard: nesting depth, NUL and lone surrogates in the body and query are a 422
 *  6. system routes and docs (/, /health, /health/ready, /api/openapi.json, /api/docs, /api/events)
 *  7. per API route: public ones rate limit (by client IP) → validate → forward over NATS; the others
 *     authenticate (a credential not cached is verified only within its client IP's auth_failures budget,
 *     which each 401 spends) → rate limit (by user or API key) → authorize → validate → forward
 *  8. 405 (with Allow) for a known path and another method, 404 for anything else, then the one error
 *     handler that writes the error envelope. Node's own refusals (431, 400) get it from service.ts.
 */
/** `/socket.io` (polling and WebSocket) on the API's origin, passed through to the realtime service. */
export function realtimeProxy(config: Readonly<GatewayConfig>): ProxyHandler {
  return createProxyMiddleware({ target: config.REALTIME_URL, ws: true, pathFilter: "/socket.io", xfwd: true });
}

/** The GET-only paths served outside the route table. */
const systemPaths = ["/", "/health", "/health/ready", "/api/openapi.json", "/api/events"].map((path) => ({ method: "get", path }));

/** A path some route serves with other methods: 405 naming them in `Allow`. */
function methodNotAllowed(table: ReadonlyArray<{ method: string; path: string }>): RequestHandler {
  const patterns = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const { method, path } of table) {
    const entry = patterns.get(path) ?? { pattern: new RegExp(`^${path.replace(/\./g, "\\.").replace(/:[A-Za-z_]+/g, "[^/]+")}/?$`), methods: new Set<string>() };
    entry.methods.add(method.toUpperCase());
    if (method === "get") entry.methods.add("HEAD");
    patterns.set(path, entry);
  }
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of patterns.values()) if (pattern.test(req.path)) for (const m of methods) allowed.add(m);
    if (!allowed.size || allowed.has(req.method)) return next();
    res.setHeader("Allow", [...allowed].join(", "));
    next(new MeridianError("METHOD_NOT_ALLOWED", `${req.method} is not allowed here; use ${[...allowed].join(", ")}`));
  };
}

export function createApp(deps: AppDeps & { realtime: ProxyHandler }): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.TRUST_PROXY);

  app.use(...securityHeaders(config));
  app.use(corsPolicy(config));
  app.use(requestContext(logger, config.SLOW_REQUEST_MS));
  app.use(httpMetrics(deps.metrics));
  app.use("/api/v1", noStore());
  app.use((req, res, next) => {
    if (req.url.startsWith("/socket.io")) void deps.realtime(req, res, next);
    else next();
  });
  app.use(contentEncodingGuard());
  app.use(express.json({ limit: config.JSON_BODY_LIMIT }));
  app.use(inputGuard(config.MAX_JSON_DEPTH));

  const document = buildOpenApiDocument({
    version: deps.version,
    serverUrl: config.PUBLIC_URL ?? "/",
    routes,
    local: systemRouteDocs,
  });
  app.use(systemRouter({ name: "meridian-gateway", version: deps.version, readiness: deps.readiness }));
  app.get("/api/openapi.json", (_req, res) => {
    res.json(document);
  });
  app.get("/api/events", (_req, res) => {
    res.json(taskEventCatalogue());
  });
  app.use("/api/docs", swaggerUi.serve, swaggerUi.setup(document, { customSiteTitle: "Meridian API" }));
  app.use("/console", consoleRouter(config));
  app.use(
    buildRouter(routes, {
      nc: deps.nc,
      passport: deps.passport,
      credentials: deps.credentials,
      revocations: deps.revocations,
      limiters: deps.limiters,
      failures: deps.authFailures,
      timeoutMs: config.NATS_REQUEST_TIMEOUT_MS,
    }),
  );

  app.use(methodNotAllowed([...routes, ...systemPaths]));
  app.use((req, _res, next) => next(new MeridianError("NOT_FOUND", `No route for ${req.method} ${req.path.slice(0, 200)}`)));
  app.use(errorHandler(logger));
  return app;
}
