import { Router } from "express";
import type { HealthReport } from "@meridian/contracts";
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
      links: { docs: "/api/docs", openapi: "/api/openapi.json", health: "/health", ready: "/health/ready", api: "/api/v1" },
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
