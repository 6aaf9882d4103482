import Joi from "joi";
import { SUBJECT_TOKEN_PATTERN } from "../subjects.js";
import { uuid } from "./common.js";

/**
 * The worker protocol: how an agent written with the SDK runs its tasks with nothing but a NATS
 * connection allowed to publish on `meridian.worker.<its agent id>.>` (and to receive replies). The
 * executor serves these subjects; the agent never sees the database, the queue or another agent.
 */
export const WorkerOperations = ["claim", "heartbeat", "progress", "log", "complete"] as const;
export type WorkerOperation = (typeof WorkerOperations)[number];

export const WORKER_SUBJECT_PREFIX = "meridian.worker";

/** `meridian.worker.<agent id>.<operation>`. */
export function workerSubject(agentId: string, op: WorkerOperation): string {
  return `${WORKER_SUBJECT_PREFIX}.${agentId}.${op}`;
}

/** What the executor listens on: every agent's `<operation>`. */
export function workerSubjectPattern(op: WorkerOperation): string {
  return `${WORKER_SUBJECT_PREFIX}.*.${op}`;
}

/** The agent id of a worker subject, or undefined when it is not one. */
export function agentIdOfWorkerSubject(subject: string): string | undefined {
  const parts = subject.split(".");
  return parts.length === 4 && `${parts[0]}.${parts[1]}` === WORKER_SUBJECT_PREFIX ? parts[2] : undefined;
}

const workerId = Joi.string().pattern(SUBJECT_TOKEN_PATTERN).required();
export const MAX_CLAIM_WAIT_MS = 30_000;

export interface ClaimRequest { worker_id: string; wait_ms: number }
export const ClaimRequestSchema = Joi.object<ClaimRequest>({ worker_id: workerId, wait_ms: Joi.number().integer().min(0).max(MAX_CLAIM_WAIT_MS).default(5000) });

/** One attempt handed to a worker. `receipt` comes back with every later call about it. */
export interface ClaimedTask {
  task_id: string;
  attempt: number;
  generation: number;
  input: unknown;
  timeout_ms: number;
  correlation_id: string;
  /** Heartbeat at least this often, or the attempt is taken back. */
  heartbeat_ms: number;
  agent: { id: string; name: string; version: number };
  receipt: string;
}
export interface ClaimReply { task: ClaimedTask | null }

/** Names one attempt a worker holds. */
export interface AttemptRef { task_id: string; attempt: number; generation: number; worker_id: string; receipt: string }
const attemptRef = {
  task_id: uuid.required(),
  attempt: Joi.number().integer().min(1).required(),
  generation: Joi.number().integer().min(0).required(),
  worker_id: workerId,
  receipt: Joi.string().max(512).required(),
};
export const AttemptRefSchema = Joi.object<AttemptRef>(attemptRef);

/** `ok: false`: the attempt is no longer the worker's (cancelled, timed out, taken back): stop it. */
export interface AttemptReply { ok: boolean }

export interface ProgressRequest extends AttemptRef { fraction: number; message?: string }
export const ProgressRequestSchema = Joi.object<ProgressRequest>({ ...attemptRef, fraction: Joi.number().min(0).max(1).required(), message: Joi.string().allow("") });

export interface LogRequest extends AttemptRef { level: "info" | "warn" | "error"; message: string }
export const LogRequestSchema = Joi.object<LogRequest>({ ...attemptRef, level: Joi.string().valid("info", "warn", "error").default("info"), message: Joi.string().allow("").required() });

export interface WorkerError { message: string; retryable?: boolean; detail?: Record<string, unknown> }
export interface CompleteRequest extends AttemptRef {
  result?: unknown;
  error?: WorkerError;
  /** The worker stopped the attempt at its timeout. */
  timed_out?: boolean;
}
export const CompleteRequestSchema = Joi.object<CompleteRequest>({
  ...attemptRef,
  result: Joi.any(),
  error: Joi.object<WorkerError>({ message: Joi.string().max(10_000).required(), retryable: Joi.boolean(), detail: Joi.object() }),
  timed_out: Joi.boolean(),
}).oxor("result", "error", "timed_out");

/**
 * NATS credentials for the workers of one sdk agent (`POST /api/v1/agents/{name}/worker-credentials`): a user
 * JWT allowed to publish only `meridian.worker.<agent id>.<operation>` and to read only its own inbox prefix.
 */
export interface WorkerCredentials {
  agent_id: string;
  agent_name: string;
  /** The NATS user's public nkey (the JWT's subject). */
  nats_user: string;
  /** The `.creds` file: the user JWT and its nkey seed. Shown once; store it like a password. */
  creds: string;
  /** Give it as the connection's `inboxPrefix` (runAgent does when given `credentials`). */
  inbox_prefix: string;
  publish: string[];
  subscribe: string[];
  expires_at: string;
}
