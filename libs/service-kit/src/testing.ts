import { connect, type NatsConnection } from "@nats-io/transport-node";
import { MeridianError, type Principal } from "@meridian/contracts";
import { requestJson } from "./client.js";
import type { ServiceOptions, Stoppable } from "./lifecycle.js";
import { createLogger, MemoryTransport, type Logger } from "./logger.js";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/** Connection settings of the real servers tests run against; overridable by the test runner. */
export const testInfra = {
  natsUrl: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/meridian_test",
};

/** A name no other test (or run) uses: for users, streams, schemas, key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** Poll until `probe` returns a truthy value or the deadline passes; the one way tests wait. */
export async function waitFor<T>(probe: () => T | Promise<T>, { timeoutMs = 5000, intervalMs = 25, what = "condition" } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (a server we just spawned). */
export function untilListening(port: number, what: string, timeoutMs = 10_000): Promise<true> {
  return waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = new net.Socket();
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
        socket.connect(port, "127.0.0.1");
      }),
    { timeoutMs, what },
  ) as Promise<true>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface NatsServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  /** What the server has logged so far (errors such as permission violations included), where kept. */
  log?(): string;
  stop(): Promise<void>;
}

/**
 * Start a private nats-server (JetStream on, its own store dir) on a free port, for tests that
 * must stop or restart the server. The machine's shared server is never touched.
 */
export async function startNatsServer({ port, storeDir, config }: { port?: number; storeDir?: string; config?: string } = {}): Promise<NatsServerHandle> {
  const p = port ?? (await freePort());
  const dir = storeDir ?? mkdtempSync(join(tmpdir(), "meridian-nats-"));
  const bin = process.env.NATS_SERVER_BIN ?? "nats-server";
  // `config`: a config file (e.g. operator mode with accounts, see nats-auth.ts); the flags set address, port and store.
  const child = spawn(bin, [...(config ? ["-c", config] : []), "-a", "127.0.0.1", "-p", String(p), "-js", "-sd", dir], { stdio: ["ignore", "ignore", "pipe"] });
  // nats-server logs to stderr; kept (bounded) for tests that read what the server refused.
  let serverLog = "";
  child.stderr?.on("data", (chunk: Buffer) => (serverLog = (serverLog + chunk.toString()).slice(-1_000_000)));
  const url = `nats://127.0.0.1:${p}`;
  await untilListening(p, `nats-server on port ${p}`);
  return {
    url,
    port: p,
    process: child,
    log: () => serverLog,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      if (!storeDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface NatsClusterNode extends NatsServerHandle {
  /** Its `server_name`, as JetStream reports a stream's leader and replicas. */
  name: string;
  /** Kill it (SIGKILL, a crash rather than a shutdown), keeping its store. */
  kill(): Promise<void>;
  /** Start it again on the same ports and store: it rejoins the cluster. */
  restart(): Promise<void>;
}

export interface NatsClusterHandle {
  nodes: NatsClusterNode[];
  /** Every node's client URL, comma-separated: a NATS_URL that survives the loss of any one node. */
  url: string;
  /** The node with this server_name. */
  node(name: string): NatsClusterNode;
  stop(): Promise<void>;
}

/** Resolves once a client on `url` sees a JetStream meta leader (the cluster can create streams). */
async function untilMetaLeader(url: string, timeoutMs: number): Promise<void> {
  const nc = await waitFor(() => connect({ servers: url }), { timeoutMs, intervalMs: 100, what: `a cluster node of ${url}` });
  try {
    await waitFor(
      async () => {
        const reply = await nc.request("$JS.API.INFO", "", { timeout: 1000 });
        const info = reply.json<{ error?: unknown; type?: string }>();
        return !info.error;
      },
      { timeoutMs, intervalMs: 250, what: "a JetStream meta leader" },
    );
  } finally {
    await nc.close();
  }
}

/**
 * `n` private nats-servers forming one JetStream cluster on loopback (free client and route ports, own
 * store dirs and server names); resolves once JetStream has a meta leader. A node's stop() kills it (SIGKILL,
 * a crash rather than a shutdown) and removes its store.
 */
export async function startNatsCluster(n = 3, { timeoutMs = 30_000 } = {}): Promise<NatsClusterHandle> {
  const clusterName = uniqueName("meridian").replace(/-/g, "_");
  const bin = process.env.NATS_SERVER_BIN ?? "nats-server";
  const ports = await Promise.all(Array.from({ length: n }, async () => ({ client: await freePort(), route: await freePort() })));
  const nodes: NatsClusterNode[] = [];
  try {
    for (const [i, p] of ports.entries()) {
      const name = `${clusterName}_n${i + 1}`;
      const dir = mkdtempSync(join(tmpdir(), "meridian-nats-cluster-"));
      const routes = ports.filter((_, j) => j !== i).map((o) => `nats://127.0.0.1:${o.route}`).join(",");
      const args = ["-a", "127.0.0.1", "-p", String(p.client), "-js", "-sd", dir, "--server_name", name, "--cluster_name", clusterName, "--cluster", `nats://127.0.0.1:${p.route}`, "--routes", routes];
      const node: NatsClusterNode = {
        name,
        url: `nats://127.0.0.1:${p.client}`,
        port: p.client,
        process: spawn(bin, args, { stdio: "ignore" }),
        kill: async () => {
          const child = node.process;
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGKILL");
            await exited;
          }
        },
        restart: async () => {
          await node.kill();
          node.process = spawn(bin, args, { stdio: "ignore" });
        },
        stop: async () => {
          await node.kill();
          rmSync(dir, { recursive: true, force: true });
        },
      };
      nodes.push(node);
    }
    const url = nodes.map((node) => node.url).join(",");
    await untilMetaLeader(url, timeoutMs);
    return {
      nodes,
      url,
      node: (name) => {
        const found = nodes.find((node) => node.name === name);
        if (!found) throw new Error(`no cluster node named ${name}`);
        return found;
      },
      stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))),
    };
  } catch (err) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw err;
  }
}

export interface PostgresServerHandle {
  url: string;
  port: number;
  /** Stop the server (fast shutdown: open connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
  /** Stop it and remove its data. */
  destroy(): Promise<void>;
}

function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv) return fromEnv;
  const versions = (() => {
    try {
      return readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
    } catch {
      return [];
    }
  })();
  for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
  return "";
}

/** initdb and pg_ctl refuse to run as root: run them as the postgres user then. */
function runAsPostgres(command: string): Promise<void> {
  const root = process.getuid?.() === 0;
  const child = root ? spawn("su", ["postgres", "-s", "/bin/sh", "-c", command], { stdio: "pipe" }) : spawn("/bin/sh", ["-c", command], { stdio: "pipe" });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${output.slice(-500)}`)))),
  );
}

/**
 * A private PostgreSQL server (initdb on a free port, trust auth on loopback), for tests that stop the
 * database under load. The machine's shared server is never touched.
 */
export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  const initdb = bin ? `${bin}/initdb` : "initdb";
  const pgCtl = bin ? `${bin}/pg_ctl` : "pg_ctl";
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "meridian-pg-"));
  if (process.getuid?.() === 0) await new Promise((r) => spawn("chown", ["-R", "postgres", dir]).once("exit", r));
  await runAsPostgres(`${initdb} -D '${dir}/data' -U postgres --auth=trust >/dev/null`);
  const start = () => runAsPostgres(`${pgCtl} -D '${dir}/data' -l '${dir}/server.log' -w -o "-h 127.0.0.1 -p ${port} -k '${dir}' -c fsync=off" start >/dev/null`);
  const stop = () => runAsPostgres(`${pgCtl} -D '${dir}/data' -m fast -w stop >/dev/null`);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    destroy: async () => {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The repository root (service-kit lives at libs/service-kit/dist/src). */
export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export type LogLine = Record<string, unknown> & { message?: string; level?: string };

/**
 * One service started as the operator starts it (`node services/<name>/dist/src/main.js`), with its
 * JSON log lines collected so tests can assert what it logged.
 */
export class ServiceProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  private child?: ChildProcess;
  exitCode: number | null = null;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: Record<string, string>,
  ) {}

  async start(readyMessage: string, timeoutMs = 15_000): Promise<this> {
    const child = spawn(process.execPath, [`${repoRoot}${this.script}`], {
      env: { PATH: process.env.PATH ?? "", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.exitCode = null;
    const firstLine = this.lines.length;
    let buffer = "";
    const collect = (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          /* not JSON: kept in raw only */
        }
      }
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("exit", (code) => {
      this.exitCode = code ?? -1;
    });
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`${this.name} exited with ${code}: ${this.raw.slice(-5).join("\n")}`))),
    );
    await Promise.race([
      exited,
      waitFor(() => this.lines.slice(firstLine).some((l) => l.message === readyMessage), { timeoutMs, what: `${this.name} to log '${readyMessage}'` }),
    ]);
    return this;
  }

  /** Resolves with the exit code once the process is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number> {
    if (!this.child || this.exitCode !== null) return this.exitCode ?? 0;
    const exited = new Promise<number>((resolve) => this.child!.once("exit", (code) => resolve(code ?? -1)));
    this.child.kill(signal);
    return exited;
  }
}

/** Run a one-shot script (a migration) to completion. */
export async function runScript(script: string, env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, [`${repoRoot}${script}`], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: "pipe" });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? -1)));
  if (code !== 0) throw new Error(`${script} exited ${code}: ${output}`);
}

/** The MeridianError a request was refused with; fails when it succeeded or failed some other way. */
export async function refusal(promise: Promise<unknown>): Promise<MeridianError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof MeridianError) return err;
    throw new Error(`expected a MeridianError, got: ${String(err)}`, { cause: err });
  }
  throw new Error("expected the request to be refused");
}

/**
 * One service started in-process against the real servers, with its log lines captured and a NATS
 * connection to drive it through its subjects. Suites extend it with their own start().
 */
export class ServiceTestContext {
  readonly logs = new MemoryTransport();
  nc!: NatsConnection;
  protected running?: Stoppable;

  /** Migrate with `migrate`, start with `start` (logs captured), and connect a client. */
  protected async boot(natsUrl: string, migrate: (logger: Logger) => Promise<unknown>, start: (options: ServiceOptions) => Promise<Stoppable>): Promise<void> {
    await migrate(createLogger({ service: "test", silent: true }));
    this.running = await start({ logTransports: [this.logs], silentLogs: true });
    this.nc = await connect({ servers: natsUrl });
  }

  request<R>(subject: string, body: unknown, options: { principal?: Principal; correlationId?: string } = {}): Promise<R> {
    return requestJson<R>(this.nc, subject, body, { timeoutMs: 5000, ...options });
  }

  async stop(): Promise<void> {
    await this.nc?.close();
    await this.running?.stop();
  }
}

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  /** SIGSTOP: the server keeps its socket open and answers nothing (a hung Redis); resume() undoes it. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** A private redis-server (no persistence) on a free port, for tests that stop or hang Redis. */
export async function startRedisServer(): Promise<RedisServerHandle> {
  const port = await freePort();
  const bin = process.env.REDIS_SERVER_BIN ?? "redis-server";
  const child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await untilListening(port, `redis-server on port ${port}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await exited;
    },
  };
}
