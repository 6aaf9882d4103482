// `npm run bench`: Meridian against its peers on this machine's PostgreSQL, Redis and a private nats-server, in
// one run; writes docs/benchmark.md. Each scenario is isolated: one that fails reports its error, the rest run.
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem, type as osType } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createClient } from "redis";
import { startNatsServer, testInfra } from "@meridian/service-kit/testing";
import { signUp } from "../support/http.js";
import { repoRoot } from "../support/process.js";
import { Stack } from "../support/stack.js";
import { createDatabase, dropDatabase, serverVersion } from "./lib/databases.js";
import { renderReport, type Figure } from "./lib/report.js";
import { buildTargets } from "./lib/targets.js";
import { BATCH_SIZE, BATCHES_IN_FLIGHT, JOBS_IN_FLIGHT, type BenchContext, type Scenario } from "./scenarios/context.js";
import { analyticsDashboard } from "./scenarios/analytics.js";
import { bareJetStream } from "./scenarios/jetstream.js";
import { bullmq } from "./scenarios/bullmq.js";
import { graphileWorker, GRAPHILE_PRODUCER_POOL } from "./scenarios/graphile-worker.js";
import { EDGE_CONNECTIONS, httpEdge } from "./scenarios/http-edge.js";
import { meridianBatch, meridianTasks } from "./scenarios/meridian-tasks.js";
import { realtime, REALTIME_SOCKETS, REALTIME_TASKS, SLEEP_MS } from "./scenarios/realtime.js";
import { bullmqWorkerConcurrency, graphileWorkerConfig } from "./peers/config.js";

const SCENARIO_TIMEOUT_MS = 90_000;
/** No scenario starts after this long, so the whole run stays near eight minutes. */
const BENCH_BUDGET_MS = 420_000;
const REDIS_DB = 11;
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", timeout: 5000 }).trim().split("\n")[0]!;
  } catch {
    return "?";
  }
}

async function isolated(name: string, scenario: Scenario, ctx: BenchContext, timeoutMs = SCENARIO_TIMEOUT_MS): Promise<Figure[]> {
  const t0 = Date.now();
  log(`${name}: start`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs)));
    const figures = await Promise.race([scenario(ctx), timeout]);
    log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return figures;
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split("\n")[0]!.slice(0, 300);
    log(`${name}: FAILED: ${message}`);
    return [{ scenario: name, metric: "—", unit: "", error: message }];
  } finally {
    clearTimeout(timer);
  }
}

async function cleanRedis(host: string, port: number, prefix: string): Promise<void> {
  const client = createClient({ socket: { host, port }, database: REDIS_DB });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await client.del(keys);
  } finally {
    await client.quit();
  }
}

async function redisVersion(host: string, port: number): Promise<string> {
  const client = createClient({ socket: { host, port } });
  await client.connect();
  try {
    return /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "?";
  } finally {
    await client.quit();
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg()[0]!;
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  const runId = `bench_${process.pid}_${Date.now().toString(36)}`;
  const postgresUrl = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const redis = new URL(testInfra.redisUrl);
  const redisHost = redis.hostname;
  const redisPort = Number(redis.port || 6379);
  const meridianDb = `${runId}_meridian`;
  const nats = await startNatsServer();
  const meridianDatabaseUrl = await createDatabase(postgresUrl, meridianDb);
  const stack = new Stack(nats.url, meridianDatabaseUrl);
  let nc: NatsConnection | undefined;
  const figures: Figure[] = [];
  try {
    log(`starting the Meridian stack (nats ${nats.url}, database ${meridianDb})`);
    await stack.start({
      agentRegistry: true,
      executors: 1,
      realtime: 1,
      gatewayEnv: { RATE_LIMIT_DEFAULT_MAX: "100000000", RATE_LIMIT_TASKS_MAX: "100000000", RATE_LIMIT_AUTH_MAX: "100000" },
      executorEnv: { ACK_WAIT_MS: "30000", RECONCILE_INTERVAL_MS: "2000" },
    });
    nc = await connect({ servers: nats.url });
    const user = await signUp(stack.gatewayUrl);
    const ctx: BenchContext = {
      gatewayUrl: stack.gatewayUrl,
      realtimeUrl: stack.realtimes[0]?.url,
      token: user.token,
      ownerId: user.id,
      nc,
      postgresUrl,
      meridianDatabaseUrl,
      redisHost,
      redisPort,
      redisDb: REDIS_DB,
      runId,
      scale,
      log,
    };
    const scenarios: Array<[string, Scenario]> = [
      ["a) Meridian tasks", meridianTasks],
      ["b) Meridian batch", meridianBatch],
      ["c) graphile-worker", graphileWorker],
      ["d) BullMQ", bullmq],
      ["e) bare JetStream", bareJetStream],
      ["f) GET /api/v1/agents", httpEdge],
      ["g) realtime", realtime],
      ["h) analytics dashboard", analyticsDashboard],
    ];
    const only = process.env.BENCH_ONLY?.split(",");
    for (const [name, scenario] of scenarios) {
      if (only && !only.some((o) => name.startsWith(o))) continue;
      if (Date.now() - startedAt.getTime() > BENCH_BUDGET_MS) {
        figures.push({ scenario: name, metric: "—", unit: "", error: `skipped: the run passed its ${BENCH_BUDGET_MS / 1000} s budget` });
        continue;
      }
      // Seeding a million rows and folding them takes longer than a load phase.
      figures.push(...(await isolated(name, scenario, ctx, scenario === analyticsDashboard ? 180_000 : SCENARIO_TIMEOUT_MS)));
    }
  } catch (err) {
    figures.push({ scenario: "setup", metric: "—", unit: "", error: (err instanceof Error ? err.message : String(err)).split("\n")[0]!.slice(0, 300) });
  } finally {
    await nc?.close().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    await nats.stop().catch(() => undefined);
    await dropDatabase(postgresUrl, meridianDb).catch((err: unknown) => log(`drop ${meridianDb}: ${String(err)}`));
    await cleanRedis(redisHost, redisPort, runId).catch((err: unknown) => log(`redis cleanup: ${String(err)}`));
  }

  const cpu = cpus();
  const machine: Array<[string, string]> = [
    ["CPU", `${cpu.length} × ${cpu[0]?.model ?? "?"}`],
    ["memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the end)`],
    ["OS", `${osType()} ${release()}`],
    ["Node.js", process.version],
    ["PostgreSQL", await serverVersion(postgresUrl).catch(() => "?")],
    ["Redis", await redisVersion(redisHost, redisPort).catch(() => "?")],
    ["nats-server", versionOf(process.env.NATS_SERVER_BIN ?? "nats-server", ["--version"]).replace(/^nats-server:\s*/, "")],
    ["load average (1 min) at start / end", `${loadAtStart.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} on ${cpu.length} cores (other work on the machine shows here)`],
    ["commit", versionOf("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"])],
  ];
  const config = [
    "Everything on loopback on this one machine: the bench process is the client of every scenario; Meridian runs as separate processes (gateway, auth, agent-registry, 1 executor, 1 realtime) on a private nats-server with JetStream and a fresh database; each peer worker/server runs as one separate process.",
    `Meridian: one executor at its config defaults (the test stack's short ACK_WAIT_MS / RECONCILE_INTERVAL_MS put back to 30000 / 2000), echo agents with concurrency 100, LOG_LEVEL info; gateway rate limit on (Redis), limits raised so no request is refused. Final states counted from the task events on core NATS.`,
    `Single submissions: closed loop, ${JOBS_IN_FLIGHT} in flight, ${Math.round(2000 * Number(process.env.BENCH_SCALE ?? 1))} jobs after a warm-up of 20; batches: ${BATCH_SIZE} jobs a call, ${BATCHES_IN_FLIGHT} calls in flight. Paced: open loop at 200 tasks/s. Throughput "→ final" is jobs / (time of the last completion − start of the first submission).`,
    `graphile-worker ${versionOf(process.execPath, ["-p", "require('graphile-worker/package.json').version"])}: runner with ${JSON.stringify(graphileWorkerConfig)} (its performance docs' settings), noop task; producer makeWorkerUtils with maxPoolSize ${GRAPHILE_PRODUCER_POOL}; own database.`,
    `BullMQ ${versionOf(process.execPath, ["-p", "require('bullmq/package.json').version"])} (ioredis): worker concurrency ${bullmqWorkerConcurrency}, no-op processor, default job options; Redis db ${REDIS_DB}, run-unique prefix, obliterated afterwards.`,
    `Bare JetStream: work-queue stream, durable pull consumer (consume(), ack per message), publisher and consumer in the bench process.`,
    `HTTP: autocannon, ${EDGE_CONNECTIONS} keep-alive connections, 1 s warm-up then ${Math.max(2, Math.round(8 * scaleOf()))} s per target; the bare Express app answers the body the gateway returned.`,
    `Realtime: ${REALTIME_SOCKETS} WebSocket sockets of one user straight to the realtime replica, ${REALTIME_TASKS} sleep tasks of ${SLEEP_MS} ms (progress events); latency = receive time − event \`at\` (same clock). Bare: Socket.IO 4 + Redis adapter in one process emitting to one room of ${REALTIME_SOCKETS} sockets at Meridian's measured event rate for as long.`,
  ];
  const notes = [
    "Absolute figures depend on the machine; the ratios, measured in the same run, are what to track.",
    "The bench process, the services and the peers share the 2 cores: the client's own CPU use is part of every figure, for Meridian and peers alike. A load average well above the core count means other work ran during the run: the figures are then lower and noisier than the machine allows, the ratios less so.",
    "\"final events seen twice\": a task's final event published more than once on NATS (JetStream deduplicates it in the stream by message id; a core subscriber sees each publish). Counted once.",
    "Realtime \"lost deliveries\" = events published (counted on NATS) × sockets − distinct deliveries within 10 s after the last task finished: a very late event counts as lost.",
  ];
  const report = renderReport({
    title: "Meridian benchmark",
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    config,
    figures,
    targets: buildTargets(figures),
    notes,
  });
  mkdirSync(join(repoRoot, "docs"), { recursive: true });
  writeFileSync(join(repoRoot, "docs", "benchmark.md"), report);
  process.stdout.write(`\n${report}\n`);
  log("report written to docs/benchmark.md");
}

function scaleOf(): number {
  return Number(process.env.BENCH_SCALE ?? 1);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
