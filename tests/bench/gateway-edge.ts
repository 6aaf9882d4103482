// `node tests/dist/bench/gateway-edge.js`: authenticated GET /api/v1/agents through the gateway against a bare
// Express handler answering the same body, both loaded in the same run by the same keep-alive loop.
// BENCH_SECONDS (5), BENCH_CONCURRENCY (20), BENCH_CREDENTIAL (jwt | api-key), GATEWAY_NODE_OPTIONS (e.g. --import
// a profiler), BENCH_COMPARE_SCRIPT (another gateway build, e.g. the previous commit's, measured in the same run),
// BENCH_STUB=1 (the registry replaced by a fixed-reply responder: the gateway's own cost).
import { Agent, request } from "node:http";
import { connect } from "@nats-io/transport-node";
import { Subjects, type Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { freePort, startNatsServer } from "@meridian/service-kit/testing";
import { createAgentVia, http, signUp } from "../support/http.js";
import { ServiceProcess } from "../support/process.js";
import { baseEnv, Stack } from "../support/stack.js";

async function load(url: string, headers: Record<string, string>, seconds: number, concurrency: number): Promise<{ rps: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, headers }, (res) => {
        if (res.statusCode !== 200) errors++;
        res.resume();
        res.on("end", () => resolve());
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await once();
        done++;
      }
    }),
  );
  agent.destroy();
  return { rps: done / ((performance.now() - started) / 1000), errors };
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 20);
  const nats = await startNatsServer();
  const stack = new Stack(nats.url);
  let bare: ServiceProcess | undefined;
  let stub: ServiceProcess | undefined;
  let compare: ServiceProcess | undefined;
  try {
    await stack.start({
      agentRegistry: true,
      gatewayEnv: {
        RATE_LIMIT_DEFAULT_MAX: "100000000",
        API_KEY_CACHE_MS: "60000",
        ...(process.env.GATEWAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.GATEWAY_NODE_OPTIONS } : {}),
      },
    });
    const me = await signUp(stack.gatewayUrl);
    for (let i = 0; i < 3; i++) await createAgentVia(stack.gatewayUrl, me.token, { runtime: "echo" });
    let headers: Record<string, string> = { authorization: `Bearer ${me.token}` };
    if (process.env.BENCH_CREDENTIAL === "api-key") {
      const key = await http(stack.gatewayUrl, "POST", "/api/v1/auth/api-keys", { token: me.token, body: { name: "bench", scopes: ["agents:read"] } });
      headers = { "x-api-key": key.body.key as string };
    }
    const path = "/api/v1/agents?limit=5";
    const sample = await http(stack.gatewayUrl, "GET", path, { headers });
    if (sample.status !== 200) throw new Error(`gateway answered ${sample.status}: ${sample.text}`);
    const port = await freePort();
    bare = await new ServiceProcess("bare", "tests/dist/bench/bare-express.js", { PORT: String(port), BARE_BODY: sample.text }).start("bare listening");

    const nc = await connect({ servers: nats.url });
    const principal = (await http(stack.gatewayUrl, "GET", "/api/v1/auth/me", { token: me.token })).body as unknown as Principal;
    const asUser: Principal = { kind: "user", sub: principal.sub ?? me.id, username: me.username, roles: ["user"], scopes: ["agents:read"] };
    let direct = 0;
    const directDeadline = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < directDeadline) {
          await requestJson(nc, Subjects.agents.list, { limit: 5, offset: 0 }, { timeoutMs: 5000, principal: asUser });
          direct++;
        }
      }),
    );
    await nc.close();
    process.stdout.write(`direct NATS request ${Subjects.agents.list}: ${(direct / seconds).toFixed(0)} req/s\n`);
    if (process.env.BENCH_STUB) {
      await stack.agentRegistry?.stop();
      stub = await new ServiceProcess("stub", "tests/dist/bench/stub-responder.js", {
        NATS_URL: nats.url,
        STUB_SUBJECT: Subjects.agents.list,
        STUB_QUEUE: "agent-registry",
        STUB_BODY: sample.text,
      }).start("stub listening");
    }
    const targets: Array<[string, string, Record<string, string>]> = [
      ["bare Express handler", `http://127.0.0.1:${port}${path}`, {}],
      ["gateway", `${stack.gatewayUrl}${path}`, headers],
    ];
    if (process.env.BENCH_COMPARE_SCRIPT) {
      const comparePort = await freePort();
      const other = new ServiceProcess("gateway-compare", process.env.BENCH_COMPARE_SCRIPT, {
        ...baseEnv(nats.url),
        HOST: "127.0.0.1",
        PORT: String(comparePort),
        DOWNSTREAM_SERVICES: "auth,agent-registry",
        RATE_LIMIT_PREFIX: stack.rateLimitPrefix,
        RATE_LIMIT_DEFAULT_MAX: "100000000",
        API_KEY_CACHE_MS: "60000",
      });
      compare = await other.start("gateway listening");
      targets.push(["gateway (compare build)", `http://127.0.0.1:${comparePort}${path}`, headers]);
    }
    for (const [, url, h] of targets) await load(url, h, 1, concurrency); // warm-up
    const results = new Map<string, number[]>();
    const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
    for (let round = 0; round < rounds; round++) {
      for (const [name, url, h] of targets) {
        const r = await load(url, h, seconds, concurrency);
        if (r.errors) throw new Error(`${name}: ${r.errors} errors`);
        results.set(name, [...(results.get(name) ?? []), r.rps]);
      }
    }
    const mean = (name: string) => (results.get(name) ?? []).reduce((a, b) => a + b, 0) / rounds;
    const bareRps = mean("bare Express handler");
    process.stdout.write(
      `\nGET ${path} (${process.env.BENCH_CREDENTIAL ?? "jwt"}${process.env.BENCH_STUB ? ", stub registry" : ""}), ${rounds} × ${seconds} s each, interleaved, concurrency ${concurrency}, node ${process.version}\n`,
    );
    for (const [name] of targets) {
      process.stdout.write(`${name.padEnd(26)} ${mean(name).toFixed(0).padStart(6)} req/s   ratio to bare ${(mean(name) / bareRps).toFixed(2)}\n`);
    }
  } finally {
    await Promise.all([bare?.stop(), stub?.stop(), compare?.stop()]);
    await stack.stop();
    await nats.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
