import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Seconds: from a fast NATS round trip to a slow database statement. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One Prometheus registry per running service (tests start several in one process): the default process
 * metrics, every series labelled `service`, and the request metrics the endpoint wrapper records.
 * Label values stay bounded: subjects are the endpoint's pattern, never a task or user id.
 */
export class ServiceMetrics {
  readonly registry: Registry;
  readonly natsRequests: Counter<"subject">;
  readonly natsRequestErrors: Counter<"subject" | "code">;
  readonly natsRequestDuration: Histogram<"subject">;

  constructor(readonly service: string) {
    this.registry = new Registry();
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.natsRequests = new Counter({
      name: "meridian_nats_requests_total",
      help: "NATS requests handled, by endpoint subject",
      labelNames: ["subject"],
      registers: [this.registry],
    });
    this.natsRequestErrors = new Counter({
      name: "meridian_nats_request_errors_total",
      help: "NATS requests answered with an error, by endpoint subject and error code",
      labelNames: ["subject", "code"],
      registers: [this.registry],
    });
    this.natsRequestDuration = new Histogram({
      name: "meridian_nats_request_duration_seconds",
      help: "Time to handle a NATS request, by endpoint subject",
      labelNames: ["subject"],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
  }

  /** The Prometheus text exposition of every metric of this service. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * A value read from elsewhere (the JetStream server) on scrape, at most once per `ttlMs`: scrapes from
 * several Prometheus servers do not multiply the calls, and a failed read keeps the last value.
 */
export function cachedReader<T>(read: () => Promise<T>, ttlMs: number): () => Promise<T | undefined> {
  let at = 0;
  let value: T | undefined;
  let pending: Promise<T | undefined> | undefined;
  return () => {
    if (Date.now() - at < ttlMs) return Promise.resolve(value);
    pending ??= read()
      .then((v) => {
        value = v;
        at = Date.now();
        return v;
      })
      .catch(() => value)
      .finally(() => (pending = undefined));
    return pending;
  };
}
