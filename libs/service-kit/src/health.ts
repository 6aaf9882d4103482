import type { NatsConnection } from "@nats-io/transport-node";
import type { CheckStatus, HealthReport } from "@meridian/contracts";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";
import { serveEndpoint } from "./endpoint.js";

export type HealthCheck = () => Promise<void>;

/** Run named checks in parallel, each bounded by a timeout, into one report. */
export async function runChecks(
  service: string,
  version: string,
  startedAt: number,
  checks: Record<string, HealthCheck>,
  timeoutMs = 1500,
): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
          }),
        ]);
        return [name, { status: "ok" as CheckStatus }] as const;
      } catch (err) {
        return [name, { status: "fail" as CheckStatus, detail: (err as Error).message }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report: HealthReport["checks"] = Object.fromEntries(entries);
  const status: CheckStatus = Object.values(report).every((c) => c.status === "ok") ? "ok" : "fail";
  return { service, version, status, uptime_s: Math.round((Date.now() - startedAt) / 1000), checks: report };
}

/** Answer `<service>.health` requests so the gateway's readiness can see this service. */
export function serveHealth(
  nc: NatsConnection,
  opts: { subject: string; service: string; version: string; logger: Logger; checks: Record<string, HealthCheck>; metrics?: ServiceMetrics },
) {
  const startedAt = Date.now();
  return serveEndpoint(
    nc,
    opts.service,
    opts.logger,
    { subject: opts.subject, handler: () => runChecks(opts.service, opts.version, startedAt, opts.checks) },
    opts.metrics,
  );
}
