/** A peer (bare server or worker) run as a separate process, like the Meridian services, talking over IPC. */
import { fork, type ChildProcess } from "node:child_process";
import { until } from "./load.js";

export interface PeerMessage { type: string; [key: string]: unknown }

export class PeerProcess {
  readonly messages: PeerMessage[] = [];
  private child?: ChildProcess;
  private stderr = "";

  constructor(
    readonly name: string,
    private readonly script: URL,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Fork the script and wait for its `ready` message. */
  async start(timeoutMs = 15_000): Promise<PeerMessage> {
    const child = fork(this.script, [], { env: { ...process.env, ...this.env }, stdio: ["ignore", "ignore", "pipe", "ipc"] });
    this.child = child;
    child.stderr?.on("data", (c: Buffer) => (this.stderr = (this.stderr + c.toString()).slice(-2000)));
    child.on("message", (m: PeerMessage) => this.messages.push(m));
    const ready = await this.next("ready", timeoutMs);
    return ready;
  }

  send(message: PeerMessage): void {
    this.child?.send(message);
  }

  latest(type: string): PeerMessage | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i]!.type === type) return this.messages[i];
    return undefined;
  }

  /** The first message of `type` at or after index `from`. */
  async next(type: string, timeoutMs: number, from = 0): Promise<PeerMessage> {
    const found = () => this.messages.slice(from).find((m) => m.type === type);
    const ok = await until(() => found() !== undefined || this.child?.exitCode !== null, timeoutMs);
    const message = found();
    if (!message) {
      const why = !ok ? `no '${type}' within ${timeoutMs} ms` : `exited ${this.child?.exitCode}`;
      throw new Error(`${this.name}: ${why}${this.stderr ? `: ${this.stderr.trim().split("\n").slice(-3).join(" ")}` : ""}`);
    }
    return message;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.send({ type: "stop" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Child side: report to the parent. */
export function report(message: PeerMessage): void {
  process.send?.(message);
}

/**
 * Child side: counts completions and reports `{ type: "completed", n, at }` at most every 20 ms, `at` being the
 * wall-clock time of the latest completion (so the parent's timing does not include the reporting delay).
 */
export function completionReporter(): () => void {
  let n = 0;
  let at = 0;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    n++;
    at = Date.now();
    timer ??= setTimeout(() => {
      timer = undefined;
      report({ type: "completed", n, at });
    }, 20);
  };
}

/** Child side: run `stop` when the parent asks (or disconnects), then exit. */
export function onStop(stop: () => Promise<void>): void {
  let stopping = false;
  const end = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("message", (m: PeerMessage) => m.type === "stop" && end());
  process.on("disconnect", end);
}

/** Parent side: wait until the child's completion count reaches `target`; the wall-clock time of that completion. */
export async function completedAt(peer: PeerProcess, target: number, timeoutMs: number): Promise<{ n: number; at: number; complete: boolean }> {
  const count = () => (peer.latest("completed")?.n as number | undefined) ?? 0;
  const complete = await until(() => count() >= target, timeoutMs);
  const last = peer.latest("completed");
  return { n: count(), at: (last?.at as number | undefined) ?? Date.now(), complete };
}
