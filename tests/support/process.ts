import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "@meridian/service-kit/testing";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

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
