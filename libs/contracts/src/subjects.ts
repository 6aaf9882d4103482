import type { AgentView } from "./schemas/agents.js";

/**
 * Every NATS subject Meridian uses. Hierarchical so permissions can be carved by prefix
 * (`meridian.auth.>` belongs to the auth service). Never write a subject as a string literal elsewhere.
 */
export const Subjects = {
  auth: {
    register: "meridian.auth.register",
    login: "meridian.auth.login",
    refresh: "meridian.auth.refresh",
    logout: "meridian.auth.logout",
    me: "meridian.auth.me",
    signingKeys: "meridian.auth.keys",
    apiKeyCreate: "meridian.auth.api-keys.create",
    apiKeyList: "meridian.auth.api-keys.list",
    apiKeyRevoke: "meridian.auth.api-keys.revoke",
    apiKeyVerify: "meridian.auth.api-keys.verify",
    usersList: "meridian.auth.users.list",
    usersUpdate: "meridian.auth.users.update",
    usersGet: "meridian.auth.users.get",
    usersDelete: "meridian.auth.users.delete",
    /** The caller deletes their own account (password in the body). */
    meDelete: "meridian.auth.me.delete",
    /** Ends every session of the caller. */
    logoutAll: "meridian.auth.logout-all",
    health: "meridian.auth.health",
  },
  agents: {
    create: "meridian.agents.create",
    get: "meridian.agents.get",
    /** By immutable id, full definition: for services (the executor), never forwarded by the gateway. */
    getById: "meridian.agents.get-by-id",
    list: "meridian.agents.list",
    update: "meridian.agents.update",
    delete: "meridian.agents.delete",
    /** NATS credentials for an sdk agent's workers, limited to its own worker subjects (owner or admin). */
    workerCredentials: "meridian.agents.worker-credentials",
    /** Every agent of one owner (a deleted account), each through the delete path; services only, never forwarded. */
    deleteOwned: "meridian.agents.delete-owned",
    health: "meridian.agents.health",
  },
  tasks: {
    submit: "meridian.tasks.submit",
    submitBatch: "meridian.tasks.submit-batch",
    get: "meridian.tasks.get",
    list: "meridian.tasks.list",
    cancel: "meridian.tasks.cancel",
    logs: "meridian.tasks.logs",
    requeue: "meridian.tasks.requeue",
    /** Cancel every queued or running task of one owner (a deleted account); services only, never forwarded. */
    cancelOwned: "meridian.tasks.cancel-owned",
  },
  analytics: {
    dashboard: "meridian.analytics.dashboard",
    agent: "meridian.analytics.agent",
    timeseries: "meridian.analytics.timeseries",
    /** One page of the task history (keyset cursor); the gateway streams the pages as CSV or JSON. */
    exportPage: "meridian.analytics.export-page",
  },
  executor: {
    health: "meridian.executor.health",
    /** Broadcast (no queue group): every executor aborts the task if it is running it. */
    cancelRunning: "meridian.executor.cancel-running",
  },
  realtime: {
    health: "meridian.realtime.health",
  },
} as const;

type Leaves<T> = T extends string ? T : { [K in keyof T]: Leaves<T[K]> }[keyof T];
export type Subject = Leaves<typeof Subjects>;

/** Service names double as their NATS queue group, so replicas share the load. */
export const ServiceNames = {
  gateway: "gateway",
  auth: "auth",
  agentRegistry: "agent-registry",
  executor: "executor",
  realtime: "realtime",
} as const;
export type ServiceName = (typeof ServiceNames)[keyof typeof ServiceNames];

/** Services the gateway forwards to; readiness asks each of them for health. */
export const DownstreamHealthSubjects: Record<Exclude<ServiceName, "gateway">, Subject> = {
  auth: Subjects.auth.health,
  "agent-registry": Subjects.agents.health,
  executor: Subjects.executor.health,
  realtime: Subjects.realtime.health,
};

/** JetStream KV buckets shared between services. */
export const Buckets = {
  /** Keys `sid.<session id>`: sessions revoked before their access tokens expire. Written by auth only. */
  revokedSessions: "meridian_revoked_sessions",
} as const;

/** Entries outlive the longest access token, so a revoked session stays revoked until its tokens expire. */
export const REVOKED_SESSIONS_TTL_MS = 24 * 60 * 60 * 1000;
export const MAX_ACCESS_TOKEN_TTL_S = REVOKED_SESSIONS_TTL_MS / 1000;

/** A token that is safe inside a NATS subject: no dots, wildcards or whitespace. */
export const SUBJECT_TOKEN_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** JetStream streams and the subjects they capture. */
export const Streams = {
  /** Every change to the agent registry; written by agent-registry only. */
  agentEvents: { name: "MERIDIAN_AGENT_EVENTS", subjects: ["meridian.events.agents.>"] },
  /** The task queue: a work-queue stream, one subject (and one durable consumer) per agent. */
  tasks: { name: "MERIDIAN_TASKS", subjects: ["meridian.queue.tasks.>"] },
  /** Every state change, progress report and log line of every task; written by executors only. */
  taskEvents: { name: "MERIDIAN_TASK_EVENTS", subjects: ["meridian.events.task.>"] },
} as const;

/**
 * `meridian.queue.tasks.<agent id>`: the queue subject of one agent's tasks. Bound to the immutable id,
 * never the name, so a name deleted and registered again by someone else never receives the old tasks.
 */
export function taskQueueSubject(agentId: string): string {
  return `meridian.queue.tasks.${agentId}`;
}

export const TASK_CONSUMER_PREFIX = "executor-";

/** Durable consumer of one agent's queue (by agent id), shared by every executor replica. */
export function taskConsumerName(agentId: string): string {
  return `${TASK_CONSUMER_PREFIX}${agentId}`;
}

/** Every event of one task, whoever owns it (a consumer filter). */
export function taskEventFilter(taskId: string): string {
  return `meridian.events.task.*.${taskId}`;
}

/** `meridian.events.task.<owner id>.<task id>`: scoped so a user's or a task's events can be followed alone. */
export function taskEventSubject(ownerId: string, taskId: string): string {
  return `meridian.events.task.${ownerId}.${taskId}`;
}

/** `meridian.events.agents.<name>`: one subject per agent, so a consumer can follow a single agent. */
export function agentEventSubject(name: string): string {
  return `meridian.events.agents.${name}`;
}

export const AgentEventTypes = ["agent.created", "agent.updated", "agent.deleted"] as const;
export type AgentEventType = (typeof AgentEventTypes)[number];

/**
 * Published on {@link agentEventSubject} for each change, with `Nats-Msg-Id` `<name>:<version>:<type>`.
 * `agent` is the agent after the change; a delete also raises the version, so ids never repeat.
 */
export interface AgentEvent {
  type: AgentEventType;
  agent: AgentView;
  /** ISO time of the change. */
  at: string;
  correlation_id: string;
}
