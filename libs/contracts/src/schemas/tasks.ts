import Joi from "joi";
import { AGENT_NAME_PATTERN } from "./agents.js";
import { uuid } from "./common.js";

export const TaskStatuses = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out", "dead_lettered"] as const;
export type TaskStatus = (typeof TaskStatuses)[number];
export const FinalTaskStatuses: readonly TaskStatus[] = ["succeeded", "failed", "cancelled", "timed_out", "dead_lettered"];
export const isFinalStatus = (s: TaskStatus) => FinalTaskStatuses.includes(s);

export const TaskEventTypes = [
  "queued",
  "started",
  "progress",
  "log",
  "retrying",
  "succeeded",
  "failed",
  "cancelled",
  "timed_out",
  "dead_lettered",
] as const;
export type TaskEventType = (typeof TaskEventTypes)[number];

/** One event of one task, published on taskEventSubject(owner, task) with `Nats-Msg-Id` `<task>:<seq>`. */
export interface TaskEvent {
  task_id: string;
  /** 1, 2, 3… per task, without gaps: a client can tell what it missed. */
  seq: number;
  type: TaskEventType;
  agent: string;
  /** The immutable id of the agent the task is bound to. */
  agent_id: string;
  owner_id: string;
  attempt: number;
  data: Record<string, unknown>;
  at: string;
  correlation_id: string;
}

export const MAX_WAIT_SECONDS = 60;

const agentName = Joi.string().pattern(AGENT_NAME_PATTERN).messages({
  "string.pattern.base": "'agent' must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit",
});
const idempotencyKey = Joi.string().pattern(/^[A-Za-z0-9._:-]{1,128}$/);

export interface SubmitTaskRequest {
  agent: string;
  input?: unknown;
  /** Seconds to wait for the outcome before answering (0 = answer at once). */
  wait?: number;
  idempotency_key?: string;
}
export const SubmitTaskRequestSchema = Joi.object<SubmitTaskRequest>({
  agent: agentName.required(),
  input: Joi.any().default({}),
  wait: Joi.number().integer().min(0).max(MAX_WAIT_SECONDS).default(0),
  idempotency_key: idempotencyKey,
}).example({ agent: "echo-bot", input: { text: "hello" } });

/** Body of POST /api/v1/tasks; `wait` comes from the query string, the key from `Idempotency-Key`. */
export const SubmitTaskBodySchema = Joi.object({
  agent: agentName.required(),
  input: Joi.any().description("Any JSON value; passed to the agent as it is"),
}).example({ agent: "echo-bot", input: { text: "hello" } });
export const WaitQuerySchema = Joi.object({
  wait: Joi.number().integer().min(0).max(MAX_WAIT_SECONDS).description(`Seconds to wait for the outcome (max ${MAX_WAIT_SECONDS})`),
});
export const ExecuteBodySchema = Joi.object({ input: Joi.any() }).example({ input: { text: "hello" } });
export const IdempotencyHeaderSchema = Joi.object({ idempotency_key: idempotencyKey });

/** One item of a batch: the same fields as a single submission, the key in the body. */
export interface BatchTaskItem { agent: string; input?: unknown; idempotency_key?: string }
export const MAX_BATCH_TASKS = 100;
export interface SubmitBatchRequest { tasks: BatchTaskItem[] }
export const SubmitBatchRequestSchema = Joi.object<SubmitBatchRequest>({
  tasks: Joi.array()
    .items(Joi.object<BatchTaskItem>({ agent: agentName.required(), input: Joi.any().default({}), idempotency_key: idempotencyKey }))
    .min(1)
    .max(MAX_BATCH_TASKS)
    .required(),
}).example({
  tasks: [
    { agent: "echo-bot", input: { text: "one" } },
    { agent: "echo-bot", input: { text: "two" }, idempotency_key: "order-42-two" },
  ],
});

/** Per item, in request order: the accepted task, or that item's own error (the others are unaffected). */
export type BatchItemResult = { status: 202; task: TaskView } | { status: number; error: { code: string; message: string } };
export interface SubmitBatchResult { items: BatchItemResult[] }

export interface TaskIdRequest { id: string }
export const TaskIdRequestSchema = Joi.object<TaskIdRequest>({ id: uuid.required() });

export interface ListTasksRequest {
  agent?: string;
  status?: TaskStatus;
  since?: string;
  until?: string;
  limit: number;
  offset: number;
}
export const ListTasksRequestSchema = Joi.object<ListTasksRequest>({
  agent: agentName,
  status: Joi.string().valid(...TaskStatuses),
  since: Joi.string().isoDate().description("Created at or after"),
  until: Joi.string().isoDate().description("Created before"),
  limit: Joi.number().integer().min(1).max(100).default(20),
  offset: Joi.number().integer().min(0).max(100_000).default(0),
});

export interface TaskError { code: string; message: string; retryable?: boolean; detail?: Record<string, unknown> }

export interface TaskView {
  id: string;
  agent: string;
  /** The agent's immutable id and the version of its definition the task was submitted with. */
  agent_id: string;
  agent_version: number;
  owner_id: string;
  status: TaskStatus;
  attempts: number;
  max_attempts: number;
  input: unknown;
  result: unknown;
  error: TaskError | null;
  correlation_id: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  links: { self: string; logs: string; cancel: string };
}
export const TaskViewSchema = Joi.object<TaskView>({
  id: uuid.required(),
  agent: Joi.string().required(),
  agent_id: uuid.required(),
  agent_version: Joi.number().integer().min(1).required(),
  owner_id: uuid.required(),
  status: Joi.string().valid(...TaskStatuses).required(),
  attempts: Joi.number().integer().required(),
  max_attempts: Joi.number().integer().required(),
  input: Joi.any(),
  result: Joi.any(),
  error: Joi.object({ code: Joi.string(), message: Joi.string(), retryable: Joi.boolean(), detail: Joi.object() }).allow(null),
  correlation_id: Joi.string().required(),
  created_at: Joi.string().isoDate().required(),
  updated_at: Joi.string().isoDate().required(),
  started_at: Joi.string().isoDate().allow(null).required(),
  finished_at: Joi.string().isoDate().allow(null).required(),
  links: Joi.object({ self: Joi.string(), logs: Joi.string(), cancel: Joi.string() }),
}).example({
  id: "0f8b5d1e-1c2a-4b3c-9d4e-5f6a7b8c9d0e",
  agent: "echo-bot",
  agent_id: "9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c",
  agent_version: 1,
  owner_id: "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21",
  status: "queued",
  attempts: 0,
  max_attempts: 3,
  input: { text: "hello" },
  result: null,
  error: null,
  correlation_id: "4d3c…",
  created_at: "2026-11-23T10:00:00.000Z",
  updated_at: "2026-11-23T10:00:00.000Z",
  started_at: null,
  finished_at: null,
  links: { self: "/api/v1/tasks/0f8b…", logs: "/api/v1/tasks/0f8b…/logs", cancel: "/api/v1/tasks/0f8b…/cancel" },
});

export interface TaskList { items: TaskView[]; total: number; limit: number; offset: number }
export const SubmitBatchResultSchema = Joi.object<SubmitBatchResult>({
  items: Joi.array().items(
    Joi.object({
      status: Joi.number().integer().required(),
      task: TaskViewSchema,
      error: Joi.object({ code: Joi.string(), message: Joi.string() }),
    }),
  ),
}).example({
  items: [
    { status: 202, task: { id: "0f8b5d1e-1c2a-4b3c-9d4e-5f6a7b8c9d0e", agent: "echo-bot", status: "queued" } },
    { status: 404, error: { code: "NOT_FOUND", message: "No agent named 'typo-bot'" } },
  ],
});

export const TaskListSchema = Joi.object({ items: Joi.array().items(TaskViewSchema), total: Joi.number(), limit: Joi.number(), offset: Joi.number() });

export interface TaskLogLine { attempt: number; at: string; level: string; message: string }
export interface TaskLogs { task_id: string; items: TaskLogLine[] }
export const TaskLogsSchema = Joi.object({
  task_id: uuid,
  items: Joi.array().items(Joi.object({ attempt: Joi.number(), at: Joi.string(), level: Joi.string(), message: Joi.string() })),
});

/** The message on the queue: which task, which attempt of which generation (admin re-queues start a new one). */
export interface TaskQueueMessage { task_id: string; attempt: number; generation: number }
export const TaskQueueMessageSchema = Joi.object<TaskQueueMessage>({
  task_id: uuid.required(),
  attempt: Joi.number().integer().min(1).required(),
  generation: Joi.number().integer().min(0).required(),
});

export interface CancelRunningMessage { task_id: string }
export const CancelRunningMessageSchema = Joi.object<CancelRunningMessage>({ task_id: uuid.required() });
