import type { RequestHandler } from "express";
import cors from "cors";
import helmet from "helmet";
import { HttpHeaders } from "@meridian/contracts";
import type { GatewayConfig } from "../config.js";

const PERMISSIONS_POLICY = "geolocation=(), microphone=(), camera=(), payment=(), usb=()";

/** Helmet with a CSP built from config; HSTS only in production, where TLS is terminated in front of us. */
export function securityHeaders(config: Readonly<GatewayConfig>): RequestHandler[] {
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    // Swagger UI injects inline styles.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'", ...config.CSP_CONNECT_SRC],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  if (config.CSP_REPORT_URI) directives["report-uri"] = [config.CSP_REPORT_URI];
  return [
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives },
      strictTransportSecurity: config.NODE_ENV === "production" ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      xFrameOptions: { action: "deny" },
      referrerPolicy: { policy: "strict-origin-when-cross-origin" },
      xContentTypeOptions: true,
    }),
    (_req, res, next) => {
      res.setHeader("Permissions-Policy", PERMISSIONS_POLICY);
      next();
    },
  ];
}

export const EXPOSED_HEADERS = [
  HttpHeaders.correlationId,
  HttpHeaders.processTime,
  "RateLimit",
  "RateLimit-Policy",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "Retry-After",
];

/** Only configured origins get CORS headers; credentials allowed, so never a wildcard. */
export function corsPolicy(config: Readonly<GatewayConfig>): RequestHandler {
  const allowed = new Set(config.CORS_ORIGINS);
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
    allowedHeaders: ["Content-Type", "Authorization", HttpHeaders.correlationId, HttpHeaders.apiKey, "Idempotency-Key"],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
