import { Kysely, Migrator, PostgresDialect, sql, type ColumnType, type Migration } from "kysely";
import pg from "pg";
import type { Logger } from "./logger.js";

export type { Migration } from "kysely";

/** A timestamptz column: read as a Date, written as a Date or ISO text, defaulted by the database. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface DatabaseOptions {
  connectionString: string;
  /** The service's own schema; no other service touches its tables. */
  schema: string;
  poolSize?: number;
  logger: Logger;
}

export interface Database<DB> {
  db: Kysely<DB>;
  pool: pg.Pool;
  /** One round trip; the health check every service's readiness runs. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A pg pool whose connections resolve unqualified table names in the service's schema. */
export function createDatabase<DB>({ connectionString, schema, poolSize = 10, logger }: DatabaseOptions): Database<DB> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`Invalid schema name: ${schema}`);
  const pool = new pg.Pool({ connectionString, max: poolSize, options: `-c search_path=${schema}` });
  pool.on("error", (err) => logger.warn("idle postgres client failed", { error: (err as Error).message }));
  // A client that loses its server while checked out emits 'error' with no listener left (the pool removes
  // its own on checkout): without this one, a database restart would crash the process. The query in
  // flight fails on its own, and the pool discards the broken client when it comes back.
  pool.on("connect", (client) => client.on("error", (err) => logger.warn("postgres connection lost", { error: err.message })));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool, ping: async () => void (await sql`select 1`.execute(db)), close: () => db.destroy() };
}

/** Apply every pending migration of one schema, in name order; throws on the first failure. */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  schema: string,
  migrations: Record<string, Migration>,
  logger: Logger,
): Promise<string[]> {
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    migrationTableSchema: schema,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  const applied = (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
  for (const name of applied) logger.info("migration applied", { schema, migration: name });
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return applied;
}

/** Postgres unique-violation detail: which constraint was hit, if any. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string };
  return e?.code === "23505" ? (e.constraint ?? "unknown") : undefined;
}

/** Migrate one service's schema with a short-lived connection: `npm run migrate`, npm start and tests. */
export async function migrateSchema(opts: { databaseUrl: string; schema: string; migrations: Record<string, Migration>; logger: Logger }): Promise<string[]> {
  const database = createDatabase<unknown>({ connectionString: opts.databaseUrl, schema: opts.schema, poolSize: 1, logger: opts.logger });
  try {
    return await migrateToLatest(database.db, opts.schema, opts.migrations, opts.logger);
  } finally {
    await database.close();
  }
}

/** The database is away (down, restarting, unreachable): a 503 for the caller to retry, not a 500. */
export function databaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e) return false;
  if (typeof e.code === "string" && (/^(08|57P0)/.test(e.code) || ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE"].includes(e.code))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(e.message ?? "");
}
