import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { runChecks, type HealthCheck } from "./health.js";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";

export interface OpsServerOptions {
  /** Unset: no ops server (several services on one host must not collide); Kubernetes sets 9464. 0 picks a free port. */
  port: number | undefined;
  host: string;
  metrics: ServiceMetrics;
  /** What /readyz runs: the same checks as the service's `<service>.health` subject. */
  checks: Record<string, HealthCheck>;
  logger: Logger;
  version?: string;
}

export interface OpsServer {
  /** The bound port, or undefined when the server is off. */
  readonly port: number | undefined;
  readonly url: string | undefined;
  /** From now on /readyz answers 503: called first thing in stop(), so the pod leaves its Service while it drains. */
  shuttingDown(): void;
  close(): Promise<void>;
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The ops port: `/healthz` (the process answers), `/readyz` (every check passes and no shutdown began; 503
 * naming the failing checks otherwise) and `/metrics` (Prometheus text). Never routed by the ingress.
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  let stopping = false;
  if (opts.port === undefined) {
    return { port: undefined, url: undefined, shuttingDown: () => void (stopping = true), close: () => Promise.resolve() };
  }
  const startedAt = Date.now();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "content-type": JSON_TYPE, allow: "GET, HEAD" }).end(JSON.stringify({ error: "Method Not Allowed" }));
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": JSON_TYPE }).end(JSON.stringify({ status: "ok" }));
    } else if (path === "/readyz") {
      if (stopping) {
        res.writeHead(503, { "content-type": JSON_TYPE }).end(JSON.stringify({ status: "fail", failing: ["shutdown"] }));
        return;
      }
      void runChecks(opts.metrics.service, opts.version ?? "", startedAt, opts.checks).then((report) => {
        const failing = Object.entries(report.checks).filter(([, c]) => c.status !== "ok").map(([name]) => name);
        const ok = failing.length === 0 && !stopping;
        if (stopping) failing.push("shutdown");
        res.writeHead(ok ? 200 : 503, { "content-type": JSON_TYPE }).end(JSON.stringify({ ...report, status: ok ? "ok" : "fail", failing }));
      });
    } else if (path === "/metrics") {
      opts.metrics.text().then(
        (text) => res.writeHead(200, { "content-type": opts.metrics.registry.contentType }).end(text),
        (err: unknown) => {
          opts.logger.error("metrics collection failed", { error: err });
          res.writeHead(500, { "content-type": JSON_TYPE }).end(JSON.stringify({ error: "Internal Server Error" }));
        },
      );
    } else {
      res.writeHead(404, { "content-type": JSON_TYPE }).end(JSON.stringify({ error: "Not Found" }));
    }
  });
  // Probes and scrapes are short: an idle keep-alive socket must not hold shutdown up.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host}:${port}`;
  opts.logger.info("ops server listening", { url, paths: ["/healthz", "/readyz", "/metrics"] });
  return {
    port,
    url,
    shuttingDown: () => void (stopping = true),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
