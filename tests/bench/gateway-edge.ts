// `node tests/dist/bench/gateway-edge.js`: authenticated GET /api/v1/agents through the gateway against a bare
// Express handler answering the same body, loaded in the same run, interleaved, by one keep-alive loop.
// Every service runs as its own process; their log output is drained unread once they are up, so the load
// generator spends nothing on it.
// BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONCURRENCY (20), BENCH_CREDENTIAL (jwt | api-key),
// GATEWAY_NODE_OPTIONS (e.g. --import a profiler), BENCH_COMPARE_SCRIPT (another gateway build, e.g. the previous
// commit's, measured in the same run), BENCH_STUB=1 (the registry replaced by a fixed-reply responder: the
// gateway's own cost).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect } from "@nats-io/transport-node";
import { Subjects, type Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { freePort, repoRoot, runScript, startNatsServer, uniqueName } from "@meridian/service-kit/testing";
import { createAgentVia, http, signUp } from "../support/http.js";
import { baseEnv, signingKey } from "../support/stack.js";

const children: ChildProcess[] = [];

/** Start `script` and resolve once it logs `ready`; from then on its output is drained unread. */
async function service(script: string, env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script.startsWith("/") ? script : `${repoRoot}${script}`], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  child.stderr.resume();
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.includes(`"message":"${ready}"`)) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${script} exited ${code}: ${seen.slice(-500)}`)));
  });
  return child;
}

interface LoadResult {
  rps: number;
  errors: number;
  /** Mean X-Process-Time of the answers (time spent inside the gateway), when the target sends it. */
  insideMs?: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; clock ticks of 10 ms). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function load(url: string, headers: Record<string, string>, seconds: number, concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  let inside = 0;
  let timed = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, headers }, (res) => {
        if (res.statusCode !== 200) errors++;
        const processTime = res.headers["x-process-time"];
        if (typeof processTime === "string") {
          inside += parseFloat(processTime);
          timed++;
        }
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
  return { rps: done / ((performance.now() - started) / 1000), errors, ...(timed ? { insideMs: inside / timed } : {}) };
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 20);
  const nats = await startNatsServer();
  try {
    const env = baseEnv(nats.url);
    const key = signingKey();
    const authEnv = { ...env, JWT_PRIVATE_KEY: key.pem, JWT_KEY_ID: key.kid, ARGON2_MEMORY_KIB: "4096", ARGON2_TIME_COST: "1" };
    await runScript("services/auth/dist/src/migrate.js", authEnv);
    await runScript("services/agent-registry/dist/src/migrate.js", env);
    await service("services/auth/dist/src/main.js", authEnv, "auth service started");
    const registry = await service("services/agent-registry/dist/src/main.js", env, "agent-registry service started");
    const gatewayEnv = (port: number) => ({
      ...env,
      HOST: "127.0.0.1",
      PORT: String(port),
      DOWNSTREAM_SERVICES: "auth,agent-registry",
      RATE_LIMIT_PREFIX: `${uniqueName("rl")}:`,
      RATE_LIMIT_DEFAULT_MAX: "100000000",
      API_KEY_CACHE_MS: "60000",
    });
    const port = await freePort();
    const gateway = await service("services/gateway/dist/src/main.js", {
      ...gatewayEnv(port),
      ...(process.env.GATEWAY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.GATEWAY_NODE_OPTIONS } : {}),
    }, "gateway listening");
    const gatewayUrl = `http://127.0.0.1:${port}`;

    const me = await signUp(gatewayUrl);
    for (let i = 0; i < 3; i++) await createAgentVia(gatewayUrl, me.token, { runtime: "echo" });
    let headers: Record<string, string> = { authorization: `Bearer ${me.token}` };
    if (process.env.BENCH_CREDENTIAL === "api-key") {
      const created = await http(gatewayUrl, "POST", "/api/v1/auth/api-keys", { token: me.token, body: { name: "bench", scopes: ["agents:read"] } });
      headers = { "x-api-key": created.body.key as string };
    }
    const path = "/api/v1/agents?limit=5";
    const sample = await http(gatewayUrl, "GET", path, { headers });
    if (sample.status !== 200) throw new Error(`gateway answered ${sample.status}: ${sample.text}`);
    const barePort = await freePort();
    const bare = await service("tests/dist/bench/bare-express.js", { PORT: String(barePort), BARE_BODY: sample.text }, "bare listening");

    const nc = await connect({ servers: nats.url });
    const principal: Principal = { kind: "user", sub: me.id, username: me.username, roles: ["user"], scopes: ["agents:read"] };
    if (process.env.BENCH_STUB) {
      registry.kill("SIGTERM");
      await new Promise((r) => registry.once("exit", r));
      await service("tests/dist/bench/stub-responder.js", { NATS_URL: nats.url, STUB_SUBJECT: Subjects.agents.list, STUB_QUEUE: "agent-registry", STUB_BODY: sample.text }, "stub listening");
    }
    const direct = async (n: number) => {
      for (let i = 0; i < n; i++) await requestJson(nc, Subjects.agents.list, { limit: 5, offset: 0 }, { timeoutMs: 5000, principal });
    };
    const directLoad = async () => {
      const started = performance.now();
      let done = 0;
      const deadline = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < deadline) {
            await direct(1);
            done++;
          }
        }),
      );
      return { rps: done / ((performance.now() - started) / 1000), errors: 0 };
    };

    const targets: Array<[string, () => Promise<LoadResult>, number?]> = [
      ["bare Express handler", () => load(`http://127.0.0.1:${barePort}${path}`, {}, seconds, concurrency), bare.pid],
      ["gateway", () => load(`${gatewayUrl}${path}`, headers, seconds, concurrency), gateway.pid],
    ];
    if (process.env.BENCH_COMPARE_SCRIPT) {
      const comparePort = await freePort();
      const compare = await service(process.env.BENCH_COMPARE_SCRIPT, gatewayEnv(comparePort), "gateway listening");
      targets.push(["gateway (compare build)", () => load(`http://127.0.0.1:${comparePort}${path}`, headers, seconds, concurrency), compare.pid]);
    }
    targets.push([`NATS request ${Subjects.agents.list} (no HTTP)`, directLoad]);
    for (const [, run] of targets) await run(); // warm-up, 1 round
    const results = new Map<string, number[]>();
    const inside = new Map<string, number[]>();
    const cpuPerRequest = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, run, pid] of targets) {
        const cpuBefore = cpuSeconds(pid);
        const r = await run();
        if (pid) cpuPerRequest.set(name, [...(cpuPerRequest.get(name) ?? []), ((cpuSeconds(pid) - cpuBefore) * 1e6) / (r.rps * seconds)]);
        if (r.errors) throw new Error(`${name}: ${r.errors} errors`);
        results.set(name, [...(results.get(name) ?? []), r.rps]);
        if (r.insideMs !== undefined) inside.set(name, [...(inside.get(name) ?? []), r.insideMs]);
      }
    }
    await nc.close();
    const mean = (name: string) => (results.get(name) ?? []).reduce((a, b) => a + b, 0) / rounds;
    const bareRps = mean("bare Express handler");
    process.stdout.write(
      `\nGET ${path} (${process.env.BENCH_CREDENTIAL ?? "jwt"}${process.env.BENCH_STUB ? ", stub registry" : ""}), ${rounds} rounds × ${seconds} s, interleaved, concurrency ${concurrency}, node ${process.version}\n`,
    );
    for (const [name] of targets) {
      const ms = inside.get(name);
      const cpu = cpuPerRequest.get(name);
      const insideText =
        (cpu ? `   CPU ${(cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(0)} µs/req` : "") +
        (ms ? `   X-Process-Time mean ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2)} ms` : "");
      process.stdout.write(`${name.padEnd(48)} ${mean(name).toFixed(0).padStart(6)} req/s   ratio to bare ${(mean(name) / bareRps).toFixed(2)}   rounds ${(results.get(name) ?? []).map((v) => v.toFixed(0)).join(" ")}${insideText}\n`);
    }
  } finally {
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => (c.once("exit", r), c.kill("SIGTERM"))) : undefined)),
    );
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
