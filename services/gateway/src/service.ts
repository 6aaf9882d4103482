import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createClient, type RedisClientType } from "redis";
import { DownstreamHealthSubjects, natsInboxPrefix, ServiceNames, type HealthReport } from "@meridian/contracts";
import {
  connectNats,
  CredentialVerifier,
  requestJson,
  runChecks,
  serviceLogger,
  ServiceMetrics,
  startOpsServer,
  type ServiceOptions,
  type RunningService,
} from "@meridian/service-kit";
import { createApp, realtimeProxy } from "./app.js";
import { clientErrorResponse } from "./errors.js";
import { createPassport } from "./auth/passport.js";
import type { GatewayConfig } from "./config.js";
import { authFailureMeter } from "./middleware/auth-failures.js";
import { rateLimiters, windowStore } from "./middleware/rate-limit.js";

export const VERSION = "0.1.0";

export type StartOptions = ServiceOptions;

export interface RunningGateway extends RunningService {
  url: string;
  port: number;
}

/** Composition root: connect NATS and Redis, build the app, listen; stop() closes in reverse order. */
export async function start(config: Readonly<GatewayConfig>, options: StartOptions = {}): Promise<RunningGateway> {
  const logger = serviceLogger(ServiceNames.gateway, config.LOG_LEVEL, options);
  const nc = await connectNats({ url: config.NATS_URL, name: ServiceNames.gateway, logger, creds: config.NATS_CREDS, inboxPrefix: natsInboxPrefix(ServiceNames.gateway) });
  // No offline queue: while Redis reconnects a command fails at once instead of waiting for the connection.
  const redis: RedisClientType = createClient({
    url: config.REDIS_URL,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (n) => Math.min(n * 200, 5000), connectTimeout: 2000 },
  });
  redis.on("error", (err: Error) => logger.warn("redis error", { error: err.message }));
  // Not awaited: a Redis that is late must not keep the gateway from starting (rate limits fall back, readiness
  // reports it); the client keeps reconnecting with the strategy above.
  redis.connect().catch((err: Error) => logger.warn("redis connect failed", { error: err.message }));

  const { verifier: credentials, revocations } = await CredentialVerifier.start(nc, logger, config);
  const passport = createPassport(credentials);

  const startedAt = Date.now();
  // The ops port's /readyz (the Kubernetes probe) checks what this replica needs to serve at all. Redis and the
  // services behind it stay in /health/ready: rate limits pass without Redis (availability first), and an auth
  // outage must not take every gateway out of its Service, which would turn each answer into the ingress's 503.
  const ownChecks = {
    nats: async () => void (await nc.flush()),
    revocations: () => Promise.resolve(revocations.check()),
  };
  const readiness = (): Promise<HealthReport> => {
    const checks: Record<string, () => Promise<void>> = {
      ...ownChecks,
      redis: async () => void (await redis.ping()),
    };
    for (const name of config.DOWNSTREAM_SERVICES) {
      const subject = DownstreamHealthSubjects[name as keyof typeof DownstreamHealthSubjects];
      checks[`service:${name}`] = async () => {
        const report = await requestJson<HealthReport>(nc, subject, {}, { timeoutMs: 1000 });
        if (report.status !== "ok") throw new Error(`reports ${report.status}`);
      };
    }
    return runChecks(ServiceNames.gateway, VERSION, startedAt, checks);
  };

  const metrics = new ServiceMetrics(ServiceNames.gateway);
  const realtime = realtimeProxy(config);
  const limits = windowStore(config, redis, logger);
  const app = createApp({
    config,
    logger,
    nc,
    passport,
    credentials,
    revocations,
    limiters: rateLimiters(config, limits),
    authFailures: authFailureMeter(config, limits),
    readiness,
    version: VERSION,
    realtime,
    metrics,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s));
    s.once("error", reject);
  });
  // What Node's parser refuses (headers too large, a malformed request line) still gets the envelope.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === "ECONNRESET" || !socket.writable || started) return void socket.destroy();
    logger.debug("client error", { code: err.code });
    socket.end(clientErrorResponse(err));
  });
  // WebSocket upgrades of /socket.io go to the realtime service too.
  server.on("upgrade", (req, socket, head) => {
    if (req.url?.startsWith("/socket.io")) realtime.upgrade(req, socket as never, head);
    else socket.destroy();
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${port}`;
  logger.info("gateway listening", { url, version: VERSION });
  const ops = await startOpsServer({ port: config.METRICS_PORT, host: config.METRICS_HOST, metrics, checks: ownChecks, logger, version: VERSION });

  return {
    url,
    port,
    logger,
    ops,
    graceMs: config.SHUTDOWN_GRACE_MS,
    stop: async () => {
      ops.shuttingDown();
      // Stop accepting, let in-flight requests finish (forwarding needs NATS), then close the rest.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(grace);
      revocations.stop();
      await nc.drain();
      // A clean QUIT only when Redis is there to answer it; otherwise it would wait for a reconnect.
      if (redis.isReady) await redis.close().catch(() => redis.destroy());
      else if (redis.isOpen) redis.destroy();
      await ops.close();
    },
  };
}
