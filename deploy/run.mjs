// Local process manager for `npm start`: dev secrets, migrations, one process per service with
// prefixed readable logs, the URLs once the gateway listens, and a clean stop on Ctrl-C.
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import readline from "node:readline";

const root = new URL("..", import.meta.url).pathname;
const state = join(root, ".local");
mkdirSync(state, { recursive: true });

function devSecrets() {
  const file = join(state, "dev-secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keyFile = join(state, "jwt-es256.pem");
  writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const secrets = {
    JWT_PRIVATE_KEY_FILE: keyFile,
    JWT_KEY_ID: `dev-${randomBytes(4).toString("hex")}`,
    ADMIN_USERNAME: "admin",
    ADMIN_EMAIL: "admin@meridian.local",
    ADMIN_PASSWORD: `Adm1n-${randomBytes(9).toString("base64url")}`,
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

const env = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? "development",
  NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  DATABASE_URL: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/meridian",
  PORT: process.env.PORT ?? "3000",
  ...devSecrets(),
};
const realtimePort = process.env.REALTIME_PORT ?? "3001";
// Per-service settings on top of the shared environment.
const serviceEnv = {
  gateway: { REALTIME_URL: `http://127.0.0.1:${realtimePort}` },
  realtime: { PORT: realtimePort },
};

const services = readdirSync(join(root, "services"))
  .filter((name) => existsSync(join(root, "services", name, "dist/src/main.js")))
  // The gateway last, so the services it forwards to are already answering.
  .sort((a, b) => (a === "gateway") - (b === "gateway") || a.localeCompare(b));

const colours = [36, 35, 33, 32, 34, 31];
const width = Math.max(...services.map((s) => s.length));
const prefix = (name) => `\x1b[${colours[services.indexOf(name) % colours.length]}m${name.padEnd(width)}\x1b[0m |`;

function pretty(line) {
  try {
    const { timestamp, level, message, ...rest } = JSON.parse(line);
    delete rest.service;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
    return `${(timestamp ?? "").slice(11, 23)} ${String(level).toUpperCase().padEnd(5)} ${message}${extra}`;
  } catch {
    return line;
  }
}

// Services share this host: METRICS_PORT=N gives each its own ops port, N, N+1, … in the order above.
const opsPort = (name) =>
  process.env.METRICS_PORT ? { METRICS_PORT: String(Number(process.env.METRICS_PORT) + services.indexOf(name)), METRICS_HOST: "127.0.0.1" } : {};

function run(name, script, onLine) {
  const child = spawn(process.execPath, [join(root, "services", name, "dist/src", script)], {
    env: { ...env, ...serviceEnv[name], ...(script === "main.js" ? opsPort(name) : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on("line", (line) => {
      process.stdout.write(`${prefix(name)} ${pretty(line)}\n`);
      onLine?.(line);
    });
  }
  return child;
}

for (const name of services) {
  if (!existsSync(join(root, "services", name, "dist/src/migrate.js"))) continue;
  const code = await new Promise((resolve) => run(name, "migrate.js").once("exit", resolve));
  if (code !== 0) {
    process.stderr.write(`migrations of ${name} failed (exit ${code})\n`);
    process.exit(1);
  }
}

const children = new Map();
let stopping = false;
for (const name of services) {
  const child = run(name, "main.js", (line) => {
    if (name === "gateway" && line.includes('"gateway listening"')) {
      const base = `http://localhost:${env.PORT}`;
      process.stdout.write(
        `\n  Meridian is up.\n  Gateway:  ${base}\n  API docs: ${base}/api/docs\n  Events:   ${base}/api/events (Socket.IO at ${base}/socket.io)\n  Admin:    ${env.ADMIN_USERNAME} / see .local/dev-secrets.json\n  Ctrl-C stops everything.\n\n`,
      );
    }
  });
  children.set(name, child);
  child.once("exit", (code, signal) => {
    children.delete(name);
    if (!stopping) {
      process.stderr.write(`${name} exited (${signal ?? code}); stopping the rest\n`);
      shutdown(1);
    } else if (children.size === 0) process.exit(process.exitCode ?? 0);
  });
}

function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  for (const child of children.values()) child.kill("SIGTERM");
  setTimeout(() => process.exit(code || 1), 15_000).unref();
  if (children.size === 0) process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));
