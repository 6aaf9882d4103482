import type { NullableTimestamp, Timestamp } from "@meridian/service-kit";
import type { ColumnType, Selectable } from "kysely";
import type { TaskError, TaskEvent, TaskStatus } from "@meridian/contracts";

type Json<T> = ColumnType<T, string | undefined | null, string | null>;

export interface TasksTable {
  id: string;
  agent: string;
  agent_id: string;
  agent_version: number;
  owner_id: string;
  status: TaskStatus;
  input: Json<unknown>;
  result: Json<unknown>;
  error: Json<TaskError | null>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  timeout_ms: number;
  backoff_ms: number[];
  generation: ColumnType<number, number | undefined, number>;
  published_attempt: ColumnType<number, number | undefined, number>;
  not_before: NullableTimestamp;
  lease_owner: string | null;
  lease_expires_at: NullableTimestamp;
  event_seq: ColumnType<number, number | undefined, number>;
  correlation_id: string;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export interface TaskLogsTable {
  id: ColumnType<string, never, never>;
  task_id: string;
  attempt: number;
  level: string;
  message: string;
  at: Timestamp;
}

/** A task event whose sequence number is taken and whose publish is not confirmed yet. */
export interface TaskEventOutboxTable {
  task_id: string;
  seq: number;
  event: Json<Omit<TaskEvent, "seq">>;
  created_at: Timestamp;
}

export interface ExecutorDatabase {
  tasks: TasksTable;
  task_logs: TaskLogsTable;
  task_event_outbox: TaskEventOutboxTable;
}

export type Task = Selectable<TasksTable>;
