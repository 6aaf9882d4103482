import type { NullableTimestamp, Timestamp } from "@meridian/service-kit";
import type { ColumnType, Generated, Selectable } from "kysely";
import type { AgentConfig, AgentEvent, AgentRuntime, AgentVisibility } from "@meridian/contracts";

export interface AgentsTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  runtime: AgentRuntime;
  /** jsonb: read as an object, written as its JSON text. */
  config: ColumnType<AgentConfig, string, string>;
  timeout_ms: number;
  max_attempts: number;
  backoff_ms: number[];
  concurrency: number;
  enabled: boolean;
  visibility: AgentVisibility;
  owner_id: string;
  owner_username: string;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

/** Events written with their change and not yet confirmed by the stream. */
export interface AgentEventOutboxTable {
  id: Generated<string>;
  agent_name: string;
  version: number;
  /** `<name>:<version>:<type>`, the Nats-Msg-Id. */
  msg_id: string;
  event: ColumnType<AgentEvent, string, string>;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: Timestamp;
}

export interface AgentRegistryDatabase {
  agents: AgentsTable;
  agent_event_outbox: AgentEventOutboxTable;
}

export type Agent = Selectable<AgentsTable>;
export type OutboxEvent = Selectable<AgentEventOutboxTable>;
