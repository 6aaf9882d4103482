import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager, Logger } from "@meridian/service-kit";
import type { TaskEventPublisher } from "../events/task-events.js";
import type { ExecutorDb } from "../store/task.store.js";
import type { AgentDirectory } from "./agent-directory.js";

export interface ExecutorDeps {
  db: ExecutorDb;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  events: TaskEventPublisher;
  agents: AgentDirectory;
  logger: Logger;
  requestTimeoutMs: number;
  ackWaitMs: number;
  /** Called when tasks of an agent were queued, so this replica starts pulling them without delay. */
  onAgentQueued(agent: string): void;
}
