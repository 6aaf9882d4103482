import { natsInboxPrefix, ServiceNames, Subjects } from "@meridian/contracts";
import {
  connectNats,
  createBatcher,
  createDatabase,
  endpointsSettled,
  jetstream,
  jetstreamManager,
  migrateSchema,
  serveEndpoint,
  serveHealth,
  serviceLogger,
  ServiceMetrics,
  startOpsServer,
  startPruner,
  untilReady,
  Counter,
  type Logger,
  type RunningService,
  type ServiceOptions,
} from "@meridian/service-kit";
import type { ExecutorConfig } from "./config.js";
import { AgentDirectory } from "./domain/agent-directory.js";
import type { ExecutorDeps } from "./domain/deps.js";
import { coalesced, insertCoalesced } from "./domain/tasks.js";
import { claimAttempts, settleAttempts } from "./store/task.store.js";
import { createOutboxRelay } from "./events/outbox-relay.js";
import { workerProtocol } from "./domain/worker-protocol.js";
import { executorHandlers, workerHandlers } from "./handlers/index.js";
import { migrations, SCHEMA } from "./migrations/index.js";
import { ensureTaskStreams } from "./queue/task-queue.js";
import { TaskRunner } from "./queue/task-runner.js";
import { ExecutorMetrics } from "./metrics.js";
import { deletedAgentConsumersStep, finishedTasksStep, RETENTION_LOCK } from "./retention/task-retention.js";
import { builtInRuntimes } from "./runtimes/index.js";
import type { Runtime } from "./runtimes/runtime.js";
import type { ExecutorDatabase } from "./store/tables.js";

export const VERSION = "0.2.0";

export interface StartOptions extends ServiceOptions {
  /** Extra or replacement runtimes (tests add recording agents here). */
  runtimes?: Partial<Record<string, Runtime>>;
}

export type RunningExecutor = RunningService;

export async function migrate(config: Pick<ExecutorConfig, "DATABASE_URL">, logger: Logger): Promise<string[]> {
  return migrateSchema({ databaseUrl: config.DATABASE_URL, schema: SCHEMA, migrations, logger });
}

/** Composition root: streams, API endpoints, the task runner; stop() stops intake, drains, closes. */
export async function start(config: Readonly<ExecutorConfig>, options: StartOptions = {}): Promise<RunningExecutor> {
  const logger = serviceLogger(ServiceNames.executor, config.LOG_LEVEL, options);
  const database = createDatabase<ExecutorDatabase>({ connectionString: config.DATABASE_URL, schema: SCHEMA, poolSize: config.DB_POOL_SIZE, logger });
  const nc = await connectNats({
    url: config.NATS_URL,
    name: `${ServiceNames.executor}-${config.EXECUTOR_ID}`,
    logger,
    creds: config.NATS_CREDS,
    inboxPrefix: natsInboxPrefix(ServiceNames.executor),
  });
  const jsm = await jetstreamManager(nc);
  await untilReady("jetstream", () => ensureTaskStreams(jsm, logger, config.JETSTREAM_REPLICAS), logger);
  const js = jetstream(nc);

  const metrics = new ServiceMetrics(ServiceNames.executor);
  const taskMetrics = new ExecutorMetrics(metrics, jsm);
  let runner: TaskRunner | undefined;
  const deps: ExecutorDeps = {
    db: database.db,
    nc,
    js,
    jsm,
    relay: taskMetrics.observe(createOutboxRelay({ db: database.db, nc, js, logger, timeoutMs: config.NATS_REQUEST_TIMEOUT_MS })),
    agents: new AgentDirectory(nc, config.NATS_REQUEST_TIMEOUT_MS),
    inserts: createBatcher(insertCoalesced(database.db, config.MAX_QUEUED_TASKS_PER_USER), { maxItems: 500, maxConcurrent: 2 }),
    maxQueuedPerOwner: config.MAX_QUEUED_TASKS_PER_USER,
    claims: createBatcher(coalesced((claims: Parameters<typeof claimAttempts>[1]) => claimAttempts(database.db, claims)), { maxItems: 200, maxConcurrent: 2 }),
    settles: createBatcher(coalesced((items: Parameters<typeof settleAttempts>[1]) => settleAttempts(database.db, items)), { maxItems: 200, maxConcurrent: 2 }),
    logger,
    requestTimeoutMs: config.NATS_REQUEST_TIMEOUT_MS,
    ackWaitMs: config.ACK_WAIT_MS,
    limits: { maxResultBytes: config.MAX_RESULT_BYTES, inlineResultBytes: config.EVENT_RESULT_INLINE_BYTES, maxLogChars: config.MAX_LOG_CHARS },
    onAgentQueued: (agent) => runner?.ensureAgent(agent),
    onRedelivery: (agentId) => taskMetrics.redelivered(agentId),
  };

  const subscriptions = [...executorHandlers(deps), ...workerHandlers(workerProtocol(deps, config.EXECUTOR_ID))].map(
    (def) => serveEndpoint(nc, ServiceNames.executor, logger, def, metrics).subscription,
  );
  if (config.CONSUME) {
    runner = new TaskRunner(deps, { ...builtInRuntimes({ httpAllowList: [...config.HTTP_ALLOW_LIST] }), ...options.runtimes }, {
      executorId: config.EXECUTOR_ID,
      maxConcurrency: config.MAX_CONCURRENCY,
      reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
      graceMs: config.SHUTDOWN_GRACE_MS,
    });
    runner.start();
  }
  const checks = {
    postgres: database.ping,
    jetstream: async () => void (await jsm.getAccountInfo()),
    ...(runner ? { consuming: async () => runner!.health() } : {}),
  };
  subscriptions.push(serveHealth(nc, { subject: Subjects.executor.health, service: ServiceNames.executor, version: VERSION, logger, checks, metrics }).subscription);
  const ops = await startOpsServer({ port: config.METRICS_PORT, host: config.METRICS_HOST, metrics, checks, logger, version: VERSION });
  const pruned = new Counter({ name: "meridian_retention_pruned_total", help: "Rows and consumers removed by retention, by kind", labelNames: ["kind"], registers: [metrics.registry] });
  const pruner = startPruner({
    pool: database.pool,
    lockKey: RETENTION_LOCK,
    intervalMs: config.RETENTION_INTERVAL_MS,
    steps: [...(config.TASK_RETENTION_DAYS > 0 ? [finishedTasksStep(config.TASK_RETENTION_DAYS)] : []), deletedAgentConsumersStep(deps)],
    logger,
    onPruned: (kind, n) => pruned.inc({ kind }, n),
  });
  logger.info("executor service started", { version: VERSION, executor_id: config.EXECUTOR_ID, consume: config.CONSUME });

  return {
    logger,
    ops,
    graceMs: config.SHUTDOWN_GRACE_MS,
    stop: async () => {
      ops.shuttingDown();
      for (const s of subscriptions) s.unsubscribe();
      await pruner.stop();
      // Running tasks and requests already taken (a submit waiting for its outcome) share the grace period.
      await Promise.all([runner?.stop(), endpointsSettled(nc, config.SHUTDOWN_GRACE_MS)]);
      await deps.relay.flush();
      await nc.drain();
      await database.close();
      await ops.close();
    },
  };
}
