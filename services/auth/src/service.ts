import { natsInboxPrefix, ServiceNames, Subjects } from "@meridian/contracts";
import {
  connectNats,
  createDatabase,
  endpointsSettled,
  RevokedSessions,
  serveEndpoint,
  serveHealth,
  type Logger,
  serviceLogger,
  ServiceMetrics,
  startOpsServer,
  startPruner,
  Counter,
  type ServiceOptions,
  type RunningService,
  migrateSchema,
} from "@meridian/service-kit";
import type { AuthConfig } from "./config.js";
import { ensureAdmin } from "./domain/accounts.js";
import { KeyUseRecorder } from "./domain/key-uses.js";
import { ApiKeyRevocations } from "./events/api-key-revocations.js";
import { natsOwnedResources } from "./events/owned-resources.js";
import { markApiKeysUsed } from "./store/api-key.store.js";
import type { AuthDeps } from "./domain/deps.js";
import { createPasswordHasher } from "./domain/password.js";
import { createTokenSigner } from "./domain/token-signer.js";
import { authHandlers } from "./handlers/index.js";
import { migrations, SCHEMA } from "./migrations/index.js";
import { loginThrottleStep, refreshTokensStep, RETENTION_LOCK } from "./retention/token-retention.js";
import type { AuthDatabase } from "./store/tables.js";

export const VERSION = "0.1.0";

export type StartOptions = ServiceOptions;

export type RunningAuth = RunningService;

/** Apply the auth schema's migrations; run by `npm run migrate` and by tests, never on import. */
export async function migrate(config: Pick<AuthConfig, "DATABASE_URL">, logger: Logger): Promise<string[]> {
  return migrateSchema({ databaseUrl: config.DATABASE_URL, schema: SCHEMA, migrations, logger });
}

/** Composition root: build the dependencies, serve every auth subject, and hand back stop(). */
export async function start(config: Readonly<AuthConfig>, options: StartOptions = {}): Promise<RunningAuth> {
  const logger = serviceLogger(ServiceNames.auth, config.LOG_LEVEL, options);
  const database = createDatabase<AuthDatabase>({
    connectionString: config.DATABASE_URL,
    schema: SCHEMA,
    poolSize: config.DB_POOL_SIZE,
    logger,
  });
  const nc = await connectNats({ url: config.NATS_URL, name: ServiceNames.auth, logger, creds: config.NATS_CREDS, inboxPrefix: natsInboxPrefix(ServiceNames.auth) });
  const deps: AuthDeps = {
    db: database.db,
    hasher: await createPasswordHasher({ memoryKiB: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST }),
    signer: createTokenSigner({
      privateKeyPem: config.JWT_PRIVATE_KEY,
      keyId: config.JWT_KEY_ID,
      previousKeys: [...config.JWT_PREVIOUS_KEYS],
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_S,
    }),
    revokedSessions: await RevokedSessions.open(nc, config.JETSTREAM_REPLICAS),
    apiKeyRevocations: await ApiKeyRevocations.open(nc, config.JETSTREAM_REPLICAS),
    keyUses: new KeyUseRecorder((ids) => markApiKeysUsed(database.db, ids), config.API_KEY_USE_FLUSH_MS, logger),
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_S,
    // Deleting an account waits for the executor and registry to clear it; they work through it in batches.
    owned: natsOwnedResources(nc, config.NATS_REQUEST_TIMEOUT_MS * 4),
    loginThrottle: {
      freeAttempts: config.LOGIN_FREE_ATTEMPTS,
      lockBaseS: config.LOGIN_LOCK_BASE_S,
      lockMaxS: config.LOGIN_LOCK_MAX_S,
      resetS: config.LOGIN_FAILURE_RESET_S,
    },
    logger,
  };
  if (config.ADMIN_USERNAME && config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    await ensureAdmin(deps, { username: config.ADMIN_USERNAME, email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD });
  }

  const metrics = new ServiceMetrics(ServiceNames.auth);
  const checks = { postgres: database.ping, nats: async () => void (await nc.flush()) };
  const subscriptions = authHandlers(deps).map((def) => serveEndpoint(nc, ServiceNames.auth, logger, def, metrics).subscription);
  subscriptions.push(
    serveHealth(nc, { subject: Subjects.auth.health, service: ServiceNames.auth, version: VERSION, logger, checks, metrics }).subscription,
  );
  const ops = await startOpsServer({ port: config.METRICS_PORT, host: config.METRICS_HOST, metrics, checks, logger, version: VERSION });
  const pruned = new Counter({ name: "meridian_retention_pruned_total", help: "Rows removed by retention, by kind", labelNames: ["kind"], registers: [metrics.registry] });
  // Sign-in counters are always pruned; refresh tokens unless their retention is 0 (kept).
  const pruner = startPruner({
    pool: database.pool,
    lockKey: RETENTION_LOCK,
    intervalMs: config.RETENTION_INTERVAL_MS,
    steps: [...(config.REVOKED_TOKEN_RETENTION_DAYS > 0 ? [refreshTokensStep(config.REVOKED_TOKEN_RETENTION_DAYS)] : []), loginThrottleStep(config.LOGIN_FAILURE_RESET_S)],
    logger,
    onPruned: (kind, n) => pruned.inc({ kind }, n),
  });
  logger.info("auth service started", { version: VERSION });

  return {
    logger,
    ops,
    graceMs: config.SHUTDOWN_GRACE_MS,
    stop: async () => {
      ops.shuttingDown();
      await pruner.stop();
      // Stop intake, let the requests taken reply (drain() alone does not wait for async handlers), then close.
      await Promise.all(subscriptions.map((s) => s.drain()));
      await endpointsSettled(nc, config.SHUTDOWN_GRACE_MS);
      await nc.drain();
      await deps.keyUses.flush();
      await database.close();
      await ops.close();
    },
  };
}
