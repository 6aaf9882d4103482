// The baseline of `gateway-edge.ts`: a bare Express handler answering a fixed JSON body, in its own process.
import express from "express";

const body = JSON.parse(process.env.BARE_BODY ?? "{}") as unknown;
const app = express();
app.get("/api/v1/agents", (_req, res) => {
  res.json(body);
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ message: "bare listening" })}\n`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
