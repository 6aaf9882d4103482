import type { NatsConnection } from "@nats-io/transport-node";
import type { Batcher, JetStreamClient, JetStreamManager, Logger } from "@meridian/service-kit";
import type { OutboxRelay } from "../events/outbox-relay.js";
import type { Claim, ExecutorDb, Fence, InsertOutcome, NewTask, Settlement, TaskRef } from "../store/task.store.js";
import type { Task } from "../store/tables.js";
import type { AgentView, TaskEvent } from "@meridian/contracts";
import type { AgentDirectory } from "./agent-directory.js";

export interface PayloadLimits {
  /** A result larger than this fails its task (RESULT_TOO_LARGE). */
  maxResultBytes: number;
  /** Results up to this size travel inside the `succeeded` event; larger ones are fetched with the task. */
  inlineResultBytes: number;
  /** Log lines and progress messages are cut to this many characters. */
  maxLogChars: number;
}

export interface ExecutorDeps {
  db: ExecutorDb;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  relay: OutboxRelay;
  agents: AgentDirectory;
  /** Coalesces concurrent submissions into multi-row inserts; undefined for a row not inserted (idempotency key taken). */
  inserts: Batcher<NewTask, InsertOutcome | undefined>;
  /** An owner's queued tasks beyond this are refused (TOO_MANY_QUEUED_TASKS); 0: no cap. */
  maxQueuedPerOwner: number;
  /** Coalesces concurrent claims (with their `started` events) into one statement. */
  claims: Batcher<Claim, { task: Task; event: TaskEvent } | undefined>;
  /** Coalesces concurrent outcomes (with their events) into one statement. */
  settles: Batcher<{ fence: Fence; settlement: Exclude<Settlement, { status: "released" }> }, { task: TaskRef; event: TaskEvent } | undefined>;
  logger: Logger;
  requestTimeoutMs: number;
  ackWaitMs: number;
  limits: PayloadLimits;
  /** Called when tasks of an agent were queued, so this replica starts pulling them without delay. */
  onAgentQueued(agent: AgentView): void;
  /** Called for a queue message delivered more than once (metrics). */
  onRedelivery?(agentId: string): void;
}
