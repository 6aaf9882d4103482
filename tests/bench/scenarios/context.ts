import type { NatsConnection } from "@nats-io/transport-node";
import type { Figure } from "../lib/report.js";

/** What every scenario gets: the running Meridian stack's edges and the shared servers' addresses. */
export interface BenchContext {
  gatewayUrl: string;
  realtimeUrl?: string;
  token: string;
  ownerId: string;
  nc: NatsConnection;
  /** The Meridian stack's own database (the executor's schema in it), for scenarios that seed history. */
  meridianDatabaseUrl?: string;
  /** Admin URL of the local PostgreSQL (database `postgres`); scenarios create and drop their own databases. */
  postgresUrl: string;
  redisHost: string;
  redisPort: number;
  /** A Redis db index no service uses, for the peers' keys. */
  redisDb: number;
  /** A prefix unique to this run, for keys, queues and databases. */
  runId: string;
  /** Scale factor of the counts (BENCH_SCALE, default 1). */
  scale: number;
  log: (line: string) => void;
}

export type Scenario = (ctx: BenchContext) => Promise<Figure[]>;

export const JOBS_IN_FLIGHT = 50;
export const BATCH_SIZE = 100;
export const BATCHES_IN_FLIGHT = 4;
/** No new operation starts after this long in a load phase. */
export const PHASE_DEADLINE_MS = 20_000;
/** How long a phase may wait for its jobs to reach their final state. */
export const DRAIN_TIMEOUT_MS = 30_000;
