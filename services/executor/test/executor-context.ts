import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Scopes, Subjects, type AgentView, type CreateAgentRequest, type Principal, type TaskEvent } from "@meridian/contracts";
import { createLogger, MemoryTransport, requestJson, jetstream } from "@meridian/service-kit";
import { runScript, ServiceProcess, testInfra, uniqueName } from "@meridian/service-kit/testing";
import { DeliverPolicy } from "@nats-io/jetstream";
import { loadExecutorConfig, type ExecutorConfig } from "../src/config.js";
import { RuntimeError, type Runtime } from "../src/runtimes/runtime.js";
import { migrate, start, type RunningExecutor } from "../src/service.js";

export const user = (roles: Principal["roles"] = ["user"]): Principal => ({
  kind: "user",
  sub: randomUUID(),
  username: uniqueName("u"),
  roles,
  scopes: roles.includes("readonly") ? ["tasks:read", "agents:read"] : [...Scopes].filter((s) => roles.includes("admin") || s !== "admin"),
  sid: randomUUID(),
});

/**
 * A sleep runtime that records what ran: how many at once, and each side effect (the task ids of
 * completed runs), so tests can check concurrency and exactly-once outcomes.
 */
export class Recorder {
  active = 0;
  maxActive = 0;
  readonly completed: string[] = [];
  readonly started: string[] = [];

  runtime: Runtime = async (ctx) => {
    const input = (ctx.input ?? {}) as { ms?: number; fail?: boolean; retryable?: boolean; log?: string; result_bytes?: number };
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.started.push(ctx.taskId);
    try {
      if (input.log) ctx.log(input.log);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, input.ms ?? 10);
        ctx.signal.addEventListener("abort", () => (clearTimeout(timer), reject(new Error(String(ctx.signal.reason)))), { once: true });
      });
      ctx.progress(1, "done");
      if (input.fail) throw new RuntimeError("asked to fail", input.retryable !== false);
      this.completed.push(ctx.taskId);
      if (input.result_bytes) return { blob: "x".repeat(input.result_bytes) };
      return { slept_ms: input.ms ?? 10, attempt: ctx.attempt };
    } finally {
      this.active--;
    }
  };
}

export function executorEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    NATS_URL: testInfra.natsUrl,
    DATABASE_URL: testInfra.databaseUrl,
    ACK_WAIT_MS: "2000",
    RECONCILE_INTERVAL_MS: "200",
    SHUTDOWN_GRACE_MS: "2000",
    EXECUTOR_ID: uniqueName("exec"),
    ...extra,
  };
}

/** The agent-registry as a process (it owns agents), plus in-process executors to drive over NATS. */
export class ExecutorTestContext {
  nc!: NatsConnection;
  registry!: ServiceProcess;
  readonly executors: RunningExecutor[] = [];
  readonly logs = new MemoryTransport();
  readonly recorder = new Recorder();

  async start(): Promise<this> {
    const env = { NODE_ENV: "test", NATS_URL: testInfra.natsUrl, DATABASE_URL: testInfra.databaseUrl, LOG_LEVEL: "warn" };
    await runScript("services/agent-registry/dist/src/migrate.js", env);
    this.registry = await new ServiceProcess("agent-registry", "services/agent-registry/dist/src/main.js", { ...env, LOG_LEVEL: "info" }).start(
      "agent-registry service started",
    );
    await migrate(loadExecutorConfig(executorEnv()), createLogger({ service: "test", silent: true }));
    this.nc = await connect({ servers: testInfra.natsUrl });
    await this.startExecutor();
    return this;
  }

  async startExecutor(env: Record<string, string> = {}, recorder = this.recorder): Promise<RunningExecutor> {
    const config: Readonly<ExecutorConfig> = loadExecutorConfig(executorEnv(env));
    const running = await start(config, { logTransports: [this.logs], silentLogs: true, runtimes: { sleep: recorder.runtime } });
    this.executors.push(running);
    return running;
  }

  request<R>(subject: string, body: unknown, principal?: Principal, correlationId?: string): Promise<R> {
    return requestJson<R>(this.nc, subject, body, { timeoutMs: 20_000, ...(principal ? { principal } : {}), ...(correlationId ? { correlationId } : {}) });
  }

  createAgent(owner: Principal, agent: Partial<CreateAgentRequest> & { runtime: CreateAgentRequest["runtime"] }): Promise<AgentView> {
    return this.request<AgentView>(Subjects.agents.create, { name: uniqueName("ag").toLowerCase(), ...agent }, owner);
  }

  /** Every event of one task from the stream, in order. */
  async events(task: { id: string; owner_id: string }): Promise<TaskEvent[]> {
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get("MERIDIAN_TASK_EVENTS", {
      filter_subjects: `meridian.events.task.${task.owner_id}.${task.id}`,
      deliver_policy: DeliverPolicy.All,
    });
    const out: TaskEvent[] = [];
    const info = await consumer.info();
    let pending = info.num_pending;
    while (pending > 0) {
      const msg = await consumer.next({ expires: 1000 });
      if (!msg) break;
      out.push(msg.json<TaskEvent>());
      pending = msg.info.pending;
    }
    await consumer.delete().catch(() => undefined);
    return out;
  }

  async stop(): Promise<void> {
    for (const e of this.executors.splice(0)) await e.stop();
    await this.nc?.close();
    await this.registry?.stop();
  }
}
