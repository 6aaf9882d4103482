import { ServiceNames, Streams, Subjects } from "@meridian/contracts";
import {
  connectNats,
  createDatabase,
  jetstream,
  jetstreamManager,
  serveEndpoint,
  serveHealth,
  type Logger,
  serviceLogger,
  type ServiceOptions,
  type RunningService,
  migrateSchema,
} from "@meridian/service-kit";
import type { ExecutorConfig } from "./config.js";
import { AgentDirectory } from "./domain/agent-directory.js";
import type { ExecutorDeps } from "./domain/deps.js";
import { createTaskEventPublisher } from "./events/task-events.js";
import { executorHandlers } from "./handlers/index.js";
import { migrations, SCHEMA } from "./migrations/index.js";
import { ensureTaskStreams } from "./queue/task-queue.js";
import { TaskRunner } from "./queue/task-runner.js";
import { builtInRuntimes } from "./runtimes/index.js";
import type { Runtime } from "./runtimes/runtime.js";
import type { ExecutorDatabase } from "./store/tables.js";

export const VERSION = "0.1.0";

export interface StartOptions extends ServiceOptions {
  /** Extra or replacement runtimes (tests add recording agents here). */
  runtimes?: Partial<Record<string, Runtime>>;
  /** Answer the task API subjects (default). An SDK agent process only runs tasks. */
  serveApi?: boolean;
  /** Run only these agents' tasks. */
  onlyAgents?: string[];
}

export type RunningExecutor = RunningService;

export async function migrate(config: Pick<ExecutorConfig, "DATABASE_URL">, logger: Logger): Promise<string[]> {
  return migrateSchema({ databaseUrl: config.DATABASE_URL, schema: SCHEMA, migrations, logger });
}

/** Composition root: streams, API endpoints, the task runner; stop() stops intake, drains, closes. */
export async function start(config: Readonly<ExecutorConfig>, options: StartOptions = {}): Promise<RunningExecutor> {
  const logger = serviceLogger(ServiceNames.executor, config.LOG_LEVEL, options);
  const database = createDatabase<ExecutorDatabase>({ connectionString: config.DATABASE_URL, schema: SCHEMA, poolSize: config.DB_POOL_SIZE, logger });
  const nc = await connectNats({ url: config.NATS_URL, name: `${ServiceNames.executor}-${config.EXECUTOR_ID}`, logger });
  const jsm = await jetstreamManager(nc);
  await ensureTaskStreams(jsm, logger);

  let runner: TaskRunner | undefined;
  const deps: ExecutorDeps = {
    db: database.db,
    nc,
    js: jetstream(nc),
    jsm,
    events: createTaskEventPublisher({ db: database.db, js: jetstream(nc), logger, timeoutMs: config.NATS_REQUEST_TIMEOUT_MS }),
    agents: new AgentDirectory(nc, config.NATS_REQUEST_TIMEOUT_MS),
    logger,
    requestTimeoutMs: config.NATS_REQUEST_TIMEOUT_MS,
    ackWaitMs: config.ACK_WAIT_MS,
    onAgentQueued: (agent) => runner?.ensureAgent(agent),
  };
  // Registry changes reach plain subscribers too: drop the cached definition so the next run sees it.
  const agentChanges = nc.subscribe(Streams.agentEvents.subjects[0], {
    callback: (_err, msg) => deps.agents.forget(msg.subject.split(".").at(-1) ?? ""),
  });

  const subscriptions =
    options.serveApi === false ? [] : executorHandlers(deps).map((def) => serveEndpoint(nc, ServiceNames.executor, logger, def).subscription);
  if (config.CONSUME) {
    runner = new TaskRunner(deps, { ...builtInRuntimes({ httpAllowList: [...config.HTTP_ALLOW_LIST] }), ...options.runtimes }, {
      executorId: config.EXECUTOR_ID,
      maxConcurrency: config.MAX_CONCURRENCY,
      reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
      graceMs: config.SHUTDOWN_GRACE_MS,
      ...(options.onlyAgents ? { onlyAgents: options.onlyAgents } : {}),
    });
    await runner.start();
  }
  if (options.serveApi !== false) subscriptions.push(
    serveHealth(nc, {
      subject: Subjects.executor.health,
      service: ServiceNames.executor,
      version: VERSION,
      logger,
      checks: {
        postgres: database.ping,
        jetstream: async () => void (await jsm.getAccountInfo()),
        ...(runner ? { consuming: async () => runner!.health() } : {}),
      },
    }).subscription,
  );
  logger.info("executor service started", { version: VERSION, executor_id: config.EXECUTOR_ID, consume: config.CONSUME });

  return {
    logger,
    graceMs: config.SHUTDOWN_GRACE_MS,
    stop: async () => {
      for (const s of subscriptions) s.unsubscribe();
      agentChanges.unsubscribe();
      await runner?.stop();
      await nc.drain();
      await database.close();
    },
  };
}
