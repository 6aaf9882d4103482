import Joi from "joi";
import { AGENT_NAME_PATTERN } from "./agents.js";
import { uuid } from "./common.js";
import type { TaskEvent, TaskEventType } from "./tasks.js";

/** Socket.IO event names, both directions. */
export const SocketEvents = {
  /** server → client: one task event (payload {@link RelayedTaskEvent}). */
  taskEvent: "task:event",
  /** server → client: `since` is older than the history kept; the client must refetch the task. */
  resync: "task:resync",
  /** server → client, just before a disconnect: the token expired, the session or key was revoked, or the client abused the socket. */
  sessionEnded: "session:ended",
  /** client → server, with an acknowledgement: follow one task (or, for admins, one agent). */
  subscribe: "subscribe",
  /** client → server, with an acknowledgement. */
  unsubscribe: "unsubscribe",
} as const;

/** A task event as a client receives it: the executor's event plus its JetStream sequence. */
export interface RelayedTaskEvent extends TaskEvent {
  stream_seq: number;
}

export interface SubscribeRequest {
  taskId?: string;
  agent?: string;
  /** The last per-task `seq` the client has; events after it are replayed before live ones. */
  since?: number;
}
export const SubscribeRequestSchema = Joi.object<SubscribeRequest>({
  taskId: uuid,
  agent: Joi.string().pattern(AGENT_NAME_PATTERN),
  since: Joi.number().integer().min(0),
})
  .xor("taskId", "agent")
  .oxor("agent", "since");

export interface UnsubscribeRequest { taskId?: string; agent?: string }
export const UnsubscribeRequestSchema = Joi.object<UnsubscribeRequest>({ taskId: uuid, agent: Joi.string().pattern(AGENT_NAME_PATTERN) }).xor("taskId", "agent");

export type SubscribeAck =
  | { ok: true; replayed: number }
  | { ok: false; error: { code: string; message: string } };

export interface ResyncNotice {
  taskId: string;
  reason: "history_expired";
  since: number;
  first_available_seq: number | null;
}

export interface SessionEndedNotice {
  /** `abuse`: the socket kept sending events over its rate limit. */
  reason: "token_expired" | "session_revoked" | "slow_consumer" | "abuse";
}

/** The catalogue of task events, served by the gateway beside the OpenAPI document. */
export const TaskEventCatalogue: Record<TaskEventType, { description: string; data: Record<string, string> }> = {
  queued: { description: "Accepted and put on the queue (again, after an admin re-queue).", data: { input_bytes: "size of the input", requeued: "true on a re-queue", generation: "re-queue count" } },
  started: { description: "An executor claimed an attempt and is running it.", data: { executor: "executor id" } },
  progress: { description: "The agent reported progress.", data: { fraction: "0..1", message: "optional text" } },
  log: { description: "The agent logged a line.", data: { level: "info | warn | error", message: "the line" } },
  retrying: { description: "An attempt failed; another follows after a backoff.", data: { error: "{ code, message, retryable }", next_attempt: "number", delay_ms: "backoff" } },
  succeeded: {
    description: "Finished with a result (terminal). A result larger than the executor's inline limit is not carried: fetch the task.",
    data: { result: "the agent's JSON result, when small enough", result_bytes: "size of a result left out", result_ref: "the task's URL, when left out" },
  },
  failed: { description: "Failed for good (terminal).", data: { error: "{ code, message, retryable, detail? }" } },
  cancelled: {
    description: "Cancelled by its owner or an admin, or because its agent was deleted (terminal).",
    data: { was_running: "boolean", by: "username (absent when the agent was deleted)", reason: "cancelled | agent_deleted | owner_deleted" },
  },
  timed_out: { description: "Ran past the agent's timeout (terminal).", data: { error: "{ code: TIMEOUT, message }" } },
  dead_lettered: { description: "Every attempt failed; kept for inspection and admin re-queue (terminal).", data: { error: "last error", attempts: "number" } },
};

export const exampleTaskEvent: RelayedTaskEvent = {
  task_id: "0f8b5d1e-1c2a-4b3c-9d4e-5f6a7b8c9d0e",
  seq: 3,
  type: "progress",
  agent: "echo-bot",
  agent_id: "9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c",
  owner_id: "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21",
  attempt: 1,
  data: { fraction: 0.5, message: "half way" },
  at: "2026-11-23T10:00:01.000Z",
  correlation_id: "4d3c2b1a-…",
  stream_seq: 1042,
};
