import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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
export async function waitFor<T>(probe: () => T | Promise<T>, { timeoutMs = 5000, intervalMs = 25, what = "condition" } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
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
  stop(): Promise<void>;
}

/**
 * Start a private nats-server (JetStream on, its own store dir) on a free port, for tests that
 * must stop or restart the server. The machine's shared server is never touched.
 */
export async function startNatsServer({ port, storeDir }: { port?: number; storeDir?: string } = {}): Promise<NatsServerHandle> {
  const p = port ?? (await freePort());
  const dir = storeDir ?? mkdtempSync(join(tmpdir(), "meridian-nats-"));
  const bin = process.env.NATS_SERVER_BIN ?? "nats-server";
  const child = spawn(bin, ["-a", "127.0.0.1", "-p", String(p), "-js", "-sd", dir], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${p}`;
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = new net.Socket();
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
        socket.connect(p, "127.0.0.1");
      }),
    { timeoutMs: 10_000, what: `nats-server on port ${p}` },
  );
  return {
    url,
    port: p,
    process: child,
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
