import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server, type Socket } from "socket.io";
import { canFollowOwnTasks, MeridianError, natsInboxPrefix, ServiceNames, SocketEvents, Subjects } from "@meridian/contracts";
import {
  connectNats,
  CredentialVerifier,
  jetstream,
  runWithContext,
  saneCorrelationId,
  serveHealth,
  serviceLogger,
  ServiceMetrics,
  startOpsServer,
  type ServiceOptions,
  type RunningService,
} from "@meridian/service-kit";
import type { RealtimeConfig } from "./config.js";
import { EventBudget } from "./domain/event-budget.js";
import { authenticate } from "./domain/handshake.js";
import { subscribeHandler, unsubscribeHandler } from "./handlers/subscribe.handler.js";
import { batchWrites, Delivery, endSession, rooms, stateOf, type SocketState } from "./relay/delivery.js";
import { taskHistory } from "./relay/history.js";
import { LiveRelay } from "./relay/live-relay.js";
import { limitEvents } from "./relay/socket-limits.js";
import { realtimeMetrics } from "./metrics.js";
import { TaskSequencer } from "./relay/sequencer.js";
import { securityHeaders } from "./security-headers.js";

export const VERSION = "0.1.0";

export type StartOptions = ServiceOptions;

export interface RunningRealtime extends RunningService {
  url: string;
  port: number;
  io: Server;
}

/**
 * Composition root: Socket.IO on Redis, handshake auth through the shared credential verifier, the JetStream
 * relay, per-socket event budgets, and revocations (sessions, API keys, disabled users) closing sockets at once.
 */
export async function start(config: Readonly<RealtimeConfig>, options: StartOptions = {}): Promise<RunningRealtime> {
  const logger = serviceLogger(ServiceNames.realtime, config.LOG_LEVEL, options);
  const nc = await connectNats({
    url: config.NATS_URL,
    name: `${ServiceNames.realtime}-${config.REPLICA_ID}`,
    logger,
    creds: config.NATS_CREDS,
    inboxPrefix: natsInboxPrefix(ServiceNames.realtime),
  });
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const { verifier, revocations } = await CredentialVerifier.start(nc, logger, config);
  const headers = securityHeaders(config.NODE_ENV === "production");

  const pub = createClient({ url: config.REDIS_URL });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on("error", (err: Error) => logger.warn("redis error", { error: err.message }));
  await Promise.all([pub.connect(), sub.connect()]);

  const http: HttpServer = createServer((req, res) => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
    } else if (!req.url?.startsWith("/socket.io")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "Not Found" }));
    }
  });
  const io = new Server(http, {
    path: "/socket.io",
    cors: { origin: [...config.CORS_ORIGINS], credentials: true },
    adapter: createAdapter(pub, sub, { key: "meridian-realtime" }),
    // Long polling and WebSocket both work; several replicas need sticky sessions for polling.
    transports: ["polling", "websocket"],
  });
  io.engine.on("headers", (outgoing: Record<string, string>) => Object.assign(outgoing, headers));

  const metrics = new ServiceMetrics(ServiceNames.realtime);
  const delivery = new Delivery(io, logger, config.SLOW_CLIENT_MAX_BUFFERED, realtimeMetrics(metrics, io));
  const sequencer = new TaskSequencer({
    holdMs: config.REORDER_HOLD_MS,
    maxHoldMs: config.REORDER_MAX_HOLD_MS,
    maxHeldPerTask: config.SLOW_CLIENT_MAX_BUFFERED,
    maxTasks: 50_000,
    history: (taskId) => taskHistory(js, jsm, taskId),
    release: (event) => void delivery.relay(event),
    logger,
  });
  const relay = new LiveRelay({ js, logger, sequencer });

  io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown; apiKey?: unknown };
    const header = socket.handshake.headers.authorization;
    const token = auth.token ?? (typeof header === "string" && header.startsWith("Bearer ") ? header.slice(7) : undefined);
    authenticate({ token, apiKey: auth.apiKey ?? socket.handshake.headers["x-api-key"] }, verifier).then(
      (session) => {
        const state: SocketState = {
          principal: session.principal,
          seen: new Map(),
          replaying: new Map(),
          subscriptions: new Set(),
          budget: new EventBudget(config.SOCKET_EVENTS_PER_SECOND, config.SOCKET_EVENTS_BURST, config.SOCKET_ABUSE_LIMIT),
        };
        if (session.expiresAt) {
          state.expiryTimer = setTimeout(() => endSession(socket, "token_expired"), Math.max(0, session.expiresAt - Date.now()));
        }
        socket.data = state;
        next();
      },
      (err: unknown) => {
        const known = err instanceof MeridianError ? err : new MeridianError("INTERNAL", "Internal error");
        if (!(err instanceof MeridianError)) logger.error("handshake failed", { error: err });
        const refusal = new Error(known.message) as Error & { data?: unknown };
        refusal.data = { code: known.code };
        next(refusal);
      },
    );
  });

  io.on("connection", (socket: Socket) => {
    const state = stateOf(socket);
    batchWrites(socket);
    const correlationId = saneCorrelationId(socket.handshake.headers["x-correlation-id"]);
    runWithContext({ correlationId }, () => logger.info("socket connected", { socket_id: socket.id, user_id: state.principal.sub }));
    const { principal } = state;
    void socket.join([
      ...(canFollowOwnTasks(principal) ? [rooms.user(principal.sub)] : []),
      ...(principal.sid ? [rooms.session(principal.sid)] : []),
      ...(principal.keyId ? [rooms.apiKey(principal.keyId)] : []),
    ]);
    // Revoked between the handshake's check and joining its rooms: the watch's callback missed this socket.
    if (verifier.isRevoked(principal)) {
      clearTimeout(state.expiryTimer);
      return endSession(socket, "session_revoked");
    }
    limitEvents(socket, logger);
    const deps = { nc, js, jsm, delivery, sequencer, logger, timeoutMs: config.NATS_REQUEST_TIMEOUT_MS, maxSubscriptions: config.SOCKET_MAX_SUBSCRIPTIONS };
    socket.on(SocketEvents.subscribe, subscribeHandler(socket, deps));
    socket.on(SocketEvents.unsubscribe, unsubscribeHandler(socket));
    socket.on("disconnect", (reason) => {
      clearTimeout(state.expiryTimer);
      logger.info("socket disconnected", { socket_id: socket.id, reason, correlation_id: correlationId });
    });
  });

  // Logout, refresh-token reuse, a revoked API key or a disabled user anywhere: each replica's watch closes its own sockets.
  const stopClosing = revocations.onRevoked(({ kind, id }) => {
    for (const socketId of [...(io.of("/").adapter.rooms.get(kind === "session" ? rooms.session(id) : rooms.apiKey(id)) ?? [])]) {
      const socket = io.of("/").sockets.get(socketId);
      if (socket) endSession(socket, "session_revoked");
    }
  });

  await relay.start();
  const checks = {
    nats: async () => void (await nc.flush()),
    redis: async () => void (await pub.ping()),
    relay: async () => relay.health(),
    revocations: () => Promise.resolve(revocations.check()),
  };
  const health = serveHealth(nc, { subject: Subjects.realtime.health, service: ServiceNames.realtime, version: VERSION, logger, checks, metrics }).subscription;

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${port}`;
  logger.info("realtime listening", { url, replica: config.REPLICA_ID, version: VERSION });
  const ops = await startOpsServer({ port: config.METRICS_PORT, host: config.METRICS_HOST, metrics, checks, logger, version: VERSION });

  return {
    url,
    port,
    io,
    logger,
    ops,
    graceMs: config.SHUTDOWN_GRACE_MS,
    stop: async () => {
      ops.shuttingDown();
      relay.stop();
      sequencer.stop();
      stopClosing();
      revocations.stop();
      health.unsubscribe();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await nc.drain();
      await Promise.all([pub.quit().catch(() => undefined), sub.quit().catch(() => undefined)]);
      await ops.close();
    },
  };
}
