import { Router } from "express";
import { exampleTaskEvent, SocketEvents, TaskEventCatalogue, type HealthReport } from "@meridian/contracts";
import type { LocalRouteDoc } from "../openapi/document.js";

export interface SystemDeps {
  name: string;
  version: string;
  readiness: () => Promise<HealthReport>;
}

const json = (description: string, example: object) => ({ description, content: { "application/json": { example } } });

export const systemRouteDocs: LocalRouteDoc[] = [
  {
    method: "get",
    path: "/",
    tag: "system",
    summary: "Service discovery",
    description: "Name, version and links to the docs and health endpoints.",
    responses: { "200": json("Name, version and links", { name: "meridian-gateway", version: "0.1.0", links: { docs: "/api/docs" } }) },
  },
  {
    method: "get",
    path: "/api/v1",
    tag: "system",
    summary: "API index",
    description: "The v1 resources and where they are documented.",
    responses: { "200": json("Resources and links", { version: "v1", resources: { tasks: "/api/v1/tasks" }, links: { docs: "/api/docs" } }) },
  },
  {
    method: "get",
    path: "/health",
    tag: "system",
    summary: "Liveness",
    description: "Answers 200 while the process serves HTTP; checks nothing else.",
    responses: { "200": json("Alive", { status: "ok" }) },
  },
  {
    method: "get",
    path: "/health/ready",
    tag: "system",
    summary: "Readiness",
    description: "200 when NATS, Redis and every downstream service answer; 503 naming the failing parts otherwise.",
    responses: {
      "200": json("Ready", { status: "ok", checks: { nats: { status: "ok" } } }),
      "503": json("Not ready", { status: "fail", checks: { "service:auth": { status: "fail", detail: "no responders" } } }),
    },
  },
  {
    method: "get",
    path: "/api/openapi.json",
    tag: "system",
    summary: "This OpenAPI document",
    description: "The document Swagger UI renders at /api/docs, built from the gateway's route table.",
    responses: { "200": { description: "OpenAPI 3 document" } },
  },
  {
    method: "get",
    path: "/api/events",
    tag: "system",
    summary: "Realtime event catalogue",
    description:
      "The Socket.IO events at `/socket.io` on this origin: authenticate with `auth: { token }` (or `{ apiKey }`), then `subscribe { taskId, since? }` with an acknowledgement; task events arrive as `task:event`. This endpoint lists every event type, its payload fields and an example.",
    responses: { "200": json("The catalogue", { socket_path: "/socket.io", server_events: { "task:event": {} } }) },
  },
  {
    method: "get",
    path: "/api/docs",
    tag: "system",
    summary: "Swagger UI",
    description: "Interactive documentation.",
    responses: { "200": { description: "HTML page", content: { "text/html": {} } } },
  },
];

export function systemRouter(deps: SystemDeps): Router {
  const router = Router();
  router.get("/", (_req, res) => {
    res.json({
      name: deps.name,
      version: deps.version,
      links: { docs: "/api/docs", openapi: "/api/openapi.json", events: "/api/events", socket: "/socket.io", health: "/health", ready: "/health/ready", api: "/api/v1" },
    });
  });
  // `GET /` advertises it: the API's own index, its resources and where they are documented.
  router.get("/api/v1", (_req, res) => {
    res.json({
      version: "v1",
      resources: {
        auth: "/api/v1/auth",
        agents: "/api/v1/agents",
        tasks: "/api/v1/tasks",
        analytics: "/api/v1/analytics/dashboard",
        users: "/api/v1/users",
      },
      links: { docs: "/api/docs", openapi: "/api/openapi.json", events: "/api/events", console: "/console" },
    });
  });
  router.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/health/ready", async (_req, res) => {
    const report = await deps.readiness();
    res.status(report.status === "ok" ? 200 : 503).json(report);
  });
  return router;
}

/** The Socket.IO side of the API, from the contracts: names, payloads, examples. */
export function taskEventCatalogue() {
  return {
    socket_path: "/socket.io",
    handshake: { auth: { token: "<access token>", apiKey: "<or an API key>" }, refused_with: "connect_error whose data.code is UNAUTHENTICATED, INVALID_TOKEN or TOKEN_REVOKED" },
    client_events: {
      [SocketEvents.subscribe]: { payload: "{ taskId, since? } or, for admins, { agent }", ack: "{ ok: true, replayed } | { ok: false, error: { code, message } }" },
      [SocketEvents.unsubscribe]: { payload: "{ taskId } or { agent }", ack: "{ ok }" },
    },
    server_events: {
      [SocketEvents.taskEvent]: {
        payload: "{ task_id, seq, type, agent, owner_id, attempt, data, at, correlation_id, stream_seq }",
        note: "seq counts 1, 2, 3… per task; resume after a disconnect with subscribe { taskId, since: <last seq> }",
        example: exampleTaskEvent,
      },
      [SocketEvents.resync]: { payload: "{ taskId, reason: 'history_expired', since, first_available_seq }", note: "events after `since` are gone: refetch GET /api/v1/tasks/{id}" },
      [SocketEvents.sessionEnded]: { payload: "{ reason: 'token_expired' | 'session_revoked' | 'slow_consumer' }", note: "sent just before the server disconnects" },
    },
    task_event_types: TaskEventCatalogue,
  };
}
