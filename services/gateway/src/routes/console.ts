import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { Router, type Response } from "express";
import type { GatewayConfig } from "../config.js";

/** Where `npm run build:console` writes the single-page app (services/gateway/console/dist). */
export const CONSOLE_DIST = fileURLToPath(new URL("../../../console/dist/", import.meta.url));

/**
 * The console's CSP is stricter than the API's: no inline styles either (Swagger UI needs them, the
 * console does not), and nothing but this origin; `'self'` also covers the same-origin WebSocket.
 */
function consoleCsp(config: Readonly<GatewayConfig>): string {
  const directives: Array<[string, string[]]> = [
    ["default-src", ["'self'"]],
    ["script-src", ["'self'"]],
    ["style-src", ["'self'"]],
    ["img-src", ["'self'", "data:"]],
    ["connect-src", ["'self'", ...config.CSP_CONNECT_SRC]],
    ["font-src", ["'self'"]],
    ["object-src", ["'none'"]],
    ["base-uri", ["'self'"]],
    ["form-action", ["'self'"]],
    ["frame-ancestors", ["'none'"]],
  ];
  if (config.CSP_REPORT_URI) directives.push(["report-uri", [config.CSP_REPORT_URI]]);
  return directives.map(([k, v]) => `${k} ${v.join(" ")}`).join("; ");
}

/**
 * `/console`: hashed assets cached for a year as immutable, `index.html` (never cached) for every
 * other GET so client-side routes survive a reload. Without a build, a 503 says how to make one.
 */
export function consoleRouter(config: Readonly<GatewayConfig>, dist = CONSOLE_DIST): Router {
  const router = Router();
  const csp = consoleCsp(config);
  const index = `${dist}index.html`;
  router.use((_req, res, next) => {
    res.setHeader("Content-Security-Policy", csp);
    next();
  });
  router.use(
    "/assets",
    express.static(`${dist}assets`, {
      index: false,
      setHeaders: (res) => res.setHeader("Cache-Control", "public, max-age=31536000, immutable"),
    }),
  );
  const sendIndex = (res: Response) => {
    if (!existsSync(index)) {
      res.status(503).type("text/plain").send("The console is not built: run `npm run build:console` (or `npm run build`).\n");
      return;
    }
    res.setHeader("Cache-Control", "no-cache");
    res.sendFile(index);
  };
  router.use((req, res, next) => {
    // A missing asset is the gateway's ordinary 404, never the app.
    if ((req.method !== "GET" && req.method !== "HEAD") || req.path.startsWith("/assets/")) return next();
    // Files at the root of the build (none today besides index.html), else the app for a client-side route.
    if (/\.[a-z0-9]+$/i.test(req.path) && req.path !== "/index.html") {
      return express.static(dist, { index: false, setHeaders: (r) => r.setHeader("Cache-Control", "no-cache") })(req, res, next);
    }
    if (req.originalUrl === "/console") return res.redirect(301, "/console/");
    sendIndex(res);
  });
  return router;
}
