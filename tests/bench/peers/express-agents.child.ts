// A bare Express app answering GET /api/v1/agents with a fixed body: the floor under the gateway's figure.
import express from "express";
import type { AddressInfo } from "node:net";
import { onStop, report, type PeerMessage } from "../lib/peer-process.js";

const body = JSON.parse(process.env.BODY ?? "{}") as unknown;
const app = express();
app.get("/api/v1/agents", (_req, res) => {
  res.json(body);
});
const server = app.listen(0, "127.0.0.1", () => {
  report({ type: "ready", port: (server.address() as AddressInfo).port } satisfies PeerMessage);
});
onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));
