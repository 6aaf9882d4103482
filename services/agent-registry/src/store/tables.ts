import type { NullableTimestamp, Timestamp } from "@meridian/service-kit";
import type { ColumnType, Generated, Selectable } from "kysely";
import type { AgentConfig, AgentRuntime } from "@meridian/contracts";


export interface AgentsTable {
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
  owner_id: string;
  owner_username: string;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface AgentRegistryDatabase {
  agents: AgentsTable;
}

export type Agent = Selectable<AgentsTable>;
