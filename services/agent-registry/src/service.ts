import { jetstreamManager } from "@nats-io/jetstream";
import { natsInboxPrefix, ServiceNames, Subjects } from "@meridian/contracts";
import {
  connectNats,
  createDatabase,
  endpointsSettled,
  serveEndpoint,
  serveHealth,
  type Logger,
  serviceLogger,
  ServiceMetrics,
  startOpsServer,
  type ServiceOptions,
  type RunningService,
  migrateSchema,
} from "@meridian/service-kit";
import type { AgentRegistryConfig } from "./config.js";
import type { AgentRegistryDeps } from "./domain/deps.js";
import { createAgentEventPublisher, ensureAgentEventsStream, startRepublisher } from "./events/agent-events.js";
import { agentRegistryHandlers } from "./handlers/index.js";
import { migrations, SCHEMA } from "./migrations/index.js";
import type { AgentRegistryDatabase } from "./store/tables.js";

export const VERSION = "0.1.0";

export type StartOptions = ServiceOptions;

export type RunningAgentRegistry = RunningService;

/** Apply the agent_registry schema's migrations; run by `npm run migrate` and by tests, never on import. */
export async function migrate(config: Pick<AgentRegistryConfig, "DATABASE_URL">, logger: Logger): Promise<string[]> {
  return migrateSchema({ databaseUrl: config.DATABASE_URL, schema: SCHEMA, migrations, logger });
}

/** Composition root: build the dependencies, make sure the event stream exists, serve every agents subject. */
export async function start(config: Readonly<AgentRegistryConfig>, options: StartOptions = {}): Promise<RunningAgentRegistry> {
  const logger = serviceLogger(ServiceNames.agentRegistry, config.LOG_LEVEL, options);
  const database = createDatabase<AgentRegistryDatabase>({
    connectionString: config.DATABASE_URL,
    schema: SCHEMA,
    poolSize: config.DB_POOL_SIZE,
    logger,
  });
  const nc = await connectNats({ url: config.NATS_URL, name: ServiceNames.agentRegistry, logger, creds: config.NATS_CREDS, inboxPrefix: natsInboxPrefix(ServiceNames.agentRegistry) });
  const jsm = await jetstreamManager(nc);
  await ensureAgentEventsStream(jsm, logger, config.JETSTREAM_REPLICAS);
  const events = createAgentEventPublisher({ db: database.db, js: jsm.jetstream(), logger, timeoutMs: config.NATS_REQUEST_TIMEOUT_MS });
  const deps: AgentRegistryDeps = {
    db: database.db,
    events,
    logger,
    ...(config.NATS_ACCOUNT && config.NATS_ACCOUNT_SIGNING_KEY
      ? { workerCredentials: { issuer: { account: config.NATS_ACCOUNT, signingKeySeed: config.NATS_ACCOUNT_SIGNING_KEY }, ttlS: config.WORKER_CREDENTIALS_TTL_S } }
      : {}),
  };

  const metrics = new ServiceMetrics(ServiceNames.agentRegistry);
  const checks = { postgres: database.ping, nats: async () => void (await nc.flush()) };
  const subscriptions = agentRegistryHandlers(deps).map((def) => serveEndpoint(nc, ServiceNames.agentRegistry, logger, def, metrics).subscription);
  subscriptions.push(
    serveHealth(nc, { subject: Subjects.agents.health, service: ServiceNames.agentRegistry, version: VERSION, logger, checks, metrics }).subscription,
  );
  const ops = await startOpsServer({ port: config.METRICS_PORT, host: config.METRICS_HOST, metrics, checks, logger, version: VERSION });
  const republisher = startRepublisher(events, { intervalMs: config.EVENT_REPUBLISH_INTERVAL_MS, logger });
  logger.info("agent-registry service started", { version: VERSION });

  return {
    logger,
    ops,
    graceMs: config.SHUTDOWN_GRACE_MS,
    stop: async () => {
      ops.shuttingDown();
      // The republisher's round in flight ends first: it needs the connection. Events it leaves stay in the outbox.
      await republisher.stop();
      // Stop intake, let the requests taken reply (drain() alone does not wait for async handlers), then close.
      await Promise.all(subscriptions.map((s) => s.drain()));
      await endpointsSettled(nc, config.SHUTDOWN_GRACE_MS);
      await nc.drain();
      await database.close();
      await ops.close();
    },
  };
}
