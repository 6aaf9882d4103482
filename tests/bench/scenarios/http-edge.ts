// f) authenticated GET /api/v1/agents through the gateway against a bare Express handler answering the same body.
import autocannon from "autocannon";
import { uniqueName } from "@meridian/service-kit/testing";
import { http } from "../../support/http.js";
import { PeerProcess } from "../lib/peer-process.js";
import type { Figure } from "../lib/report.js";
import type { BenchContext } from "./context.js";

export const EDGE_CONNECTIONS = 50;

async function hammer(url: string, token: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: EDGE_CONNECTIONS, pipelining: 1, duration: seconds, headers: { authorization: `Bearer ${token}` } });
}

const describe = (r: autocannon.Result) =>
  `${r.requests.total} requests, ${EDGE_CONNECTIONS} connections, ${r.duration.toFixed(0)} s; p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms${r.non2xx ? `; ${r.non2xx} non-2xx` : ""}${r.errors ? `; ${r.errors} errors` : ""}`;

export async function httpEdge(ctx: BenchContext): Promise<Figure[]> {
  for (let i = 0; i < 5; i++) {
    const res = await http(ctx.gatewayUrl, "POST", "/api/v1/agents", { token: ctx.token, body: { name: uniqueName("edge").toLowerCase(), runtime: "echo" } });
    if (res.status !== 201) throw new Error(`create agent answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
  const listed = await http(ctx.gatewayUrl, "GET", "/api/v1/agents", { token: ctx.token });
  if (listed.status !== 200) throw new Error(`GET /api/v1/agents answered ${listed.status}: ${listed.text.slice(0, 200)}`);
  const bare = new PeerProcess("bare express", new URL("../peers/express-agents.child.js", import.meta.url), { BODY: listed.text });
  try {
    const port = (await bare.start()).port as number;
    const seconds = Math.max(2, Math.round(8 * ctx.scale));
    const gatewayUrl = `${ctx.gatewayUrl}/api/v1/agents`;
    const bareUrl = `http://127.0.0.1:${port}/api/v1/agents`;
    await hammer(gatewayUrl, ctx.token, 1); // warm-up
    const gateway = await hammer(gatewayUrl, ctx.token, seconds);
    await hammer(bareUrl, ctx.token, 1);
    const express = await hammer(bareUrl, ctx.token, seconds);
    const ok = (r: autocannon.Result) => r["2xx"] / r.duration;
    return [
      { id: "edge", scenario: "f) GET /api/v1/agents", metric: "gateway (JWT, rate limit, NATS → registry)", value: ok(gateway), unit: "req/s", note: describe(gateway) },
      { id: "bareExpress", scenario: "f) GET /api/v1/agents", metric: "bare Express, same body", value: ok(express), unit: "req/s", note: `${describe(express)}; body ${listed.text.length} B` },
    ];
  } finally {
    await bare.stop();
  }
}
