import Joi from "joi";
import {
  ExecuteBodySchema,
  IdempotencyHeaderSchema,
  isFinalStatus,
  ListTasksRequestSchema,
  MAX_BATCH_TASKS,
  MAX_WAIT_SECONDS,
  SubmitBatchRequestSchema,
  SubmitBatchResultSchema,
  SubmitTaskBodySchema,
  TaskIdRequestSchema,
  TaskListSchema,
  TaskLogsSchema,
  TaskViewSchema,
  WaitQuerySchema,
  AGENT_NAME_PATTERN,
  type TaskView,
  AgentDeletedSchema,
  AgentListSchema,
  AgentNameRequestSchema,
  AgentViewSchema,
  ApiKeyCreatedSchema,
  ApiKeyCreateRequestSchema,
  ApiKeyViewSchema,
  CreateAgentRequestSchema,
  ListAgentsRequestSchema,
  LoginRequestSchema,
  RefreshRequestSchema,
  RegisterRequestSchema,
  Subjects,
  TokenPairSchema,
  UpdateAgentBodySchema,
  UserViewSchema,
  uuid,
  type ErrorCode,
  type Role,
  type Scope,
  type Subject,
  AdminUserListSchema,
  AdminUserViewSchema,
  DashboardRequestSchema,
  ListUsersRequestSchema,
  TimeseriesMetrics,
  UpdateUserBodySchema,
  UserIdParamsSchema,
  TimeseriesRequestSchema,
  AccountDeletedSchema,
  DeleteMeRequestSchema,
  SessionsEndedSchema,
} from "@meridian/contracts";
import type { RateLimitCost, RouteRateLimit } from "../middleware/rate-limit.js";

const AnalyticsFiguresSchema = Joi.object().example({
  range: "week",
  tasks: { submitted: 1200, succeeded: 1150, failed: 20, cancelled: 5, timed_out: 3, dead_lettered: 2, queued_now: 12, running_now: 4 },
  success_rate: 0.9748,
  duration_ms: { p50: 180, p95: 2300, p99: 8100 },
  retries: 41,
  dead_letters: 2,
  queue_depth: 12,
  busiest_agents: [{ agent_id: "9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c", agent: "echo-bot", submitted: 900, succeeded: 890, failed: 4 }],
});
const TimeseriesSchema = Joi.object().example({
  metric: "succeeded",
  bucket: "day",
  points: [
    { t: "2026-12-01T00:00:00.000Z", value: 310 },
    { t: "2026-12-02T00:00:00.000Z", value: 0 },
  ],
});

/**
 * Every route the gateway forwards, declared once: the router and the OpenAPI document are both
 * built from this table, so they cannot drift.
 */
export interface RouteSpec {
  method: "get" | "post" | "patch" | "delete";
  /** Express path; `:param` segments become OpenAPI `{param}`. */
  path: string;
  subject: Subject;
  tag: string;
  summary: string;
  description: string;
  auth: "public" | "required";
  roles?: readonly Role[];
  scope?: Scope;
  /** Its rate-limit class; `default` is `reads` for GET, `writes` otherwise. */
  rateLimit: RouteRateLimit;
  /** Without the shared rate-limit store the route answers 503 rather than pass unlimited. */
  rateLimitFailClosed?: true;
  /** Units of the class budget one call takes (default 1): a batch takes one per task. */
  cost?: RateLimitCost;
  /** The service writes the revocation bucket before replying; the gateway waits for its watch to see it. */
  revokes?: true;
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.ObjectSchema;
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: Joi.Schema };
  /** A second success status the reply may choose (see `statusOf`), documented beside the first. */
  alsoSuccess?: { status: 200 | 202; description: string };
  /** Picks the status from the reply, e.g. 200 for a finished task, 202 for one still queued. */
  statusOf?: (reply: unknown) => number;
  /** Request headers passed on as payload fields, e.g. `Idempotency-Key` → `idempotency_key`. */
  headers?: { map: Record<string, string>; schema: Joi.ObjectSchema };
  /** Payload fields the route fixes unless the caller gives them (the synchronous execute waits by default). */
  defaults?: Record<string, unknown>;
  /** Extra time the owning service may take for this payload, on top of the request timeout. */
  extraTimeoutMs?: (payload: Record<string, unknown>) => number;
  /** Codes the owning service may answer with, beyond the ones every route can get. */
  errors: ErrorCode[];
  /** The reply comes in pages (a cursor in `next`): the gateway streams them as CSV or JSON. */
  streamPages?: { produces: readonly ("text/csv" | "application/json")[] };
}

const WorkerCredentialsSchema = Joi.object().example({
  agent_id: "9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c",
  agent_name: "my-sdk-agent",
  nats_user: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4",
  creds: "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ…\n------END NATS USER JWT------\n…",
  inbox_prefix: "_INBOX.agent-9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c",
  publish: ["meridian.worker.9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c.claim", "…"],
  subscribe: ["_INBOX.agent-9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c.>"],
  expires_at: "2027-01-02T21:00:00.000Z",
});

const revoked = Joi.object({ revoked: Joi.boolean().valid(true).required() }).example({ revoked: true });

export const routes: RouteSpec[] = [
  {
    method: "post",
    path: "/api/v1/auth/register",
    subject: Subjects.auth.register,
    tag: "auth",
    summary: "Register a user",
    description: "Creates an account with the `user` role. The password must be 12-128 characters, mix three character classes and not contain the username or email.",
    auth: "public",
    rateLimit: "register",
    rateLimitFailClosed: true,
    body: RegisterRequestSchema,
    success: { status: 201, description: "The new user", schema: UserViewSchema },
    errors: ["WEAK_PASSWORD", "USERNAME_TAKEN", "EMAIL_TAKEN"],
  },
  {
    method: "post",
    path: "/api/v1/auth/login",
    subject: Subjects.auth.login,
    tag: "auth",
    summary: "Log in",
    description: "Exchanges a username or email and password for an access token (ES256 JWT) and a single-use refresh token. Failed sign-ins are counted per account whatever the address: after a few the account is locked for a time that doubles with each further failure up to a cap (429 `LOGIN_LOCKED` with `Retry-After`, the right password included); unknown names answer the same way.",
    auth: "public",
    rateLimit: "login",
    rateLimitFailClosed: true,
    body: LoginRequestSchema,
    success: { status: 200, description: "A token pair", schema: TokenPairSchema },
    errors: ["INVALID_CREDENTIALS", "LOGIN_LOCKED"],
  },
  {
    method: "post",
    path: "/api/v1/auth/refresh",
    subject: Subjects.auth.refresh,
    tag: "auth",
    summary: "Rotate a refresh token",
    description: "Returns a new token pair; the presented refresh token stops working. Presenting an already rotated token revokes the whole session.",
    auth: "public",
    rateLimit: "refresh",
    body: RefreshRequestSchema,
    revokes: true,
    success: { status: 200, description: "A new token pair", schema: TokenPairSchema },
    errors: ["INVALID_TOKEN"],
  },
  {
    method: "post",
    path: "/api/v1/auth/logout",
    subject: Subjects.auth.logout,
    tag: "auth",
    summary: "Log out",
    description: "Revokes the session: its refresh tokens and, before they expire, its access tokens.",
    auth: "required",
    rateLimit: "default",
    revokes: true,
    success: { status: 200, description: "The session is revoked", schema: revoked },
    errors: ["BAD_REQUEST"],
  },
  {
    method: "get",
    path: "/api/v1/auth/me",
    subject: Subjects.auth.me,
    tag: "auth",
    summary: "The current user",
    description: "Answers the account of the access token or API key presented.",
    auth: "required",
    scope: "profile:read",
    rateLimit: "default",
    success: { status: 200, description: "The current user", schema: UserViewSchema },
    errors: ["NOT_FOUND"],
  },
  {
    method: "post",
    path: "/api/v1/auth/api-keys",
    subject: Subjects.auth.apiKeyCreate,
    tag: "api-keys",
    summary: "Create an API key",
    description: "Mints a key for scripts and agents, sent as `X-API-Key`. Its scopes cannot exceed the caller's role. The key is shown once.",
    auth: "required",
    scope: "api-keys:write",
    rateLimit: "default",
    rateLimitFailClosed: true,
    body: ApiKeyCreateRequestSchema,
    success: { status: 201, description: "The key, shown once", schema: ApiKeyCreatedSchema },
    errors: [],
  },
  {
    method: "get",
    path: "/api/v1/auth/api-keys",
    subject: Subjects.auth.apiKeyList,
    tag: "api-keys",
    summary: "List your API keys",
    description: "Active keys of the caller, newest first, without their secrets.",
    auth: "required",
    scope: "api-keys:read",
    rateLimit: "default",
    success: { status: 200, description: "The caller's keys", schema: Joi.object({ items: Joi.array().items(ApiKeyViewSchema) }) },
    errors: [],
  },
  {
    method: "delete",
    path: "/api/v1/auth/api-keys/:id",
    subject: Subjects.auth.apiKeyRevoke,
    tag: "api-keys",
    summary: "Revoke an API key",
    description: "The key stops working at once on this gateway and within a second on every other replica.",
    auth: "required",
    scope: "api-keys:write",
    rateLimit: "default",
    revokes: true,
    params: Joi.object({ id: uuid.required() }),
    success: { status: 200, description: "The key is revoked", schema: revoked },
    errors: ["NOT_FOUND"],
  },
  {
    method: "get",
    path: "/api/v1/agents",
    subject: Subjects.agents.list,
    tag: "agents",
    summary: "List agents",
    description: "Agents by name, filtered by runtime, owner, state or text in the name or description, one page at a time with the total. Disabled agents of other users are left out unless the caller is an admin; the values of other users' http agent `config.headers` are `[redacted]`.",
    auth: "required",
    scope: "agents:read",
    rateLimit: "default",
    query: ListAgentsRequestSchema,
    success: { status: 200, description: "One page of agents", schema: AgentListSchema },
    errors: ["FORBIDDEN"],
  },
  {
    method: "post",
    path: "/api/v1/agents",
    subject: Subjects.agents.create,
    tag: "agents",
    summary: "Register an agent",
    description: "The caller becomes its owner. The name is a subject token (a-z, 0-9, '-'); `config` is checked against `runtime` and every omitted setting takes its default.",
    auth: "required",
    scope: "agents:write",
    rateLimit: "default",
    body: CreateAgentRequestSchema,
    success: { status: 201, description: "The new agent, at version 1", schema: AgentViewSchema },
    errors: ["FORBIDDEN", "CONFLICT"],
  },
  {
    method: "get",
    path: "/api/v1/agents/:name",
    subject: Subjects.agents.get,
    tag: "agents",
    summary: "Get an agent",
    description: "A disabled agent is found only by its owner and admins. Others see the values of an http agent's `config.headers` as `[redacted]`.",
    auth: "required",
    scope: "agents:read",
    rateLimit: "default",
    params: AgentNameRequestSchema,
    success: { status: 200, description: "The agent", schema: AgentViewSchema },
    errors: ["FORBIDDEN", "NOT_FOUND"],
  },
  {
    method: "patch",
    path: "/api/v1/agents/:name",
    subject: Subjects.agents.update,
    tag: "agents",
    summary: "Change an agent",
    description: "Only the owner or an admin may change it; every change raises the version. Give at least one field; `config` only together with `runtime`, and `runtime` alone resets `config` to that runtime's default.",
    auth: "required",
    scope: "agents:write",
    rateLimit: "default",
    params: AgentNameRequestSchema,
    body: UpdateAgentBodySchema,
    success: { status: 200, description: "The agent after the change", schema: AgentViewSchema },
    errors: ["FORBIDDEN", "NOT_FOUND"],
  },
  {
    method: "delete",
    path: "/api/v1/agents/:name",
    subject: Subjects.agents.delete,
    tag: "agents",
    summary: "Delete an agent",
    description: "Only the owner or an admin may delete it. The name becomes free to register again.",
    auth: "required",
    scope: "agents:write",
    rateLimit: "default",
    params: AgentNameRequestSchema,
    success: { status: 200, description: "The agent is deleted", schema: AgentDeletedSchema },
    errors: ["FORBIDDEN", "NOT_FOUND"],
  },
  {
    method: "post",
    path: "/api/v1/agents/:name/worker-credentials",
    subject: Subjects.agents.workerCredentials,
    tag: "agents",
    summary: "Issue NATS credentials for an sdk agent's workers",
    description:
      "Only the owner or an admin. A `.creds` file (user JWT and nkey seed) allowed to publish only `meridian.worker.<agent id>.{claim,heartbeat,progress,log,complete}` and to read only its own inbox prefix; give it to `runAgent({ credentials })`. Shown once, never stored; it expires at `expires_at` (each call issues a new one). 503 when the deployment runs NATS without accounts.",
    auth: "required",
    scope: "agents:write",
    // It mints credentials: like API key creation, refused (503) rather than unlimited when Redis is away.
    rateLimit: "writes",
    rateLimitFailClosed: true,
    params: AgentNameRequestSchema,
    success: { status: 201, description: "The credentials", schema: WorkerCredentialsSchema },
    errors: ["FORBIDDEN", "NOT_FOUND", "CONFLICT"],
  },
  ...taskRoutes(),
  ...accountRoutes(),
];

/** One unit per task of a batch; a body of the wrong shape takes one and is refused by validation. */
function batchCost(req: Parameters<RateLimitCost>[0]): number {
  const tasks = (req.body as { tasks?: unknown } | undefined)?.tasks;
  const n = Array.isArray(tasks) ? tasks.length : 1;
  return n >= 1 && n <= MAX_BATCH_TASKS ? n : 1;
}

function taskRoutes(): RouteSpec[] {
  const finishedOrQueued = (reply: unknown) => (isFinalStatus((reply as TaskView).status) ? 200 : 202);
  const waitMs = (payload: Record<string, unknown>) => Number(payload.wait ?? 0) * 1000;
  const idempotency = { map: { "Idempotency-Key": "idempotency_key" }, schema: IdempotencyHeaderSchema };
  const taskId = TaskIdRequestSchema;
  const taskErrors = ["NOT_FOUND"] as ErrorCode[];
  return [
    {
      method: "post",
      path: "/api/v1/tasks",
      subject: Subjects.tasks.submit,
      tag: "tasks",
      summary: "Run a task",
      description: `Queues a task on an enabled agent and answers 202 with it at once. With \`?wait=N\` (seconds, at most ${MAX_WAIT_SECONDS}) the answer waits for the outcome: 200 with the finished task when it ends in time, else 202. An \`Idempotency-Key\` header makes a retried submission return the same task (kept 24 h); the same key with a different body is a 422.`,
      auth: "required",
      scope: "tasks:write",
      rateLimit: "tasks",
      query: WaitQuerySchema,
      body: SubmitTaskBodySchema,
      headers: idempotency,
      success: { status: 202, description: "Queued (or still running after the wait)", schema: TaskViewSchema },
      alsoSuccess: { status: 200, description: "Finished within the wait" },
      statusOf: finishedOrQueued,
      extraTimeoutMs: waitMs,
      errors: ["NOT_FOUND", "AGENT_DISABLED", "IDEMPOTENCY_KEY_REUSED", "TOO_MANY_QUEUED_TASKS"],
    },
    {
      method: "post",
      path: "/api/v1/tasks/batch",
      subject: Subjects.tasks.submitBatch,
      tag: "tasks",
      summary: "Run several tasks",
      description: `Queues up to ${MAX_BATCH_TASKS} tasks in one call and answers 202 with one result per item, in order: \`{ status: 202, task }\` when queued, \`{ status, error: { code, message } }\` when that item was refused (an unknown or disabled agent, a reused idempotency key); one item's refusal does not affect the others. Each item takes one unit of the caller's task-submission budget (the \`tasks\` rate-limit class, shared with POST /api/v1/tasks); a batch larger than what is left is refused whole with 429 and takes nothing. Items past the caller's cap on queued tasks are refused one by one with 429 \`TOO_MANY_QUEUED_TASKS\`, and a batch of which nothing fits is refused whole with it.`,
      auth: "required",
      scope: "tasks:write",
      rateLimit: "tasks",
      cost: batchCost,
      body: SubmitBatchRequestSchema,
      success: { status: 202, description: "One result per item, in request order", schema: SubmitBatchResultSchema },
      errors: ["TOO_MANY_QUEUED_TASKS"],
    },
    {
      method: "post",
      path: "/api/v1/agents/:agent/execute",
      subject: Subjects.tasks.submit,
      tag: "tasks",
      summary: "Run an agent synchronously",
      description: `The synchronous form of POST /api/v1/tasks: waits up to \`?wait\` seconds (default 30, at most ${MAX_WAIT_SECONDS}) and answers 200 with the finished task, or 202 if it is still running.`,
      auth: "required",
      scope: "tasks:write",
      rateLimit: "tasks",
      params: Joi.object({ agent: Joi.string().pattern(AGENT_NAME_PATTERN).required() }),
      query: WaitQuerySchema,
      body: ExecuteBodySchema,
      headers: idempotency,
      defaults: { wait: 30 },
      success: { status: 200, description: "The finished task, with its result or error", schema: TaskViewSchema },
      alsoSuccess: { status: 202, description: "Still running after the wait" },
      statusOf: finishedOrQueued,
      extraTimeoutMs: waitMs,
      errors: ["NOT_FOUND", "AGENT_DISABLED", "IDEMPOTENCY_KEY_REUSED", "TOO_MANY_QUEUED_TASKS"],
    },
    {
      method: "get",
      path: "/api/v1/tasks",
      subject: Subjects.tasks.list,
      tag: "tasks",
      summary: "List tasks",
      description: "Your tasks, newest first (admins: everyone's), filtered by agent, status and creation time.",
      auth: "required",
      scope: "tasks:read",
      rateLimit: "default",
      query: ListTasksRequestSchema,
      success: { status: 200, description: "A page of tasks", schema: TaskListSchema },
      errors: [],
    },
    {
      method: "get",
      path: "/api/v1/tasks/:id",
      subject: Subjects.tasks.get,
      tag: "tasks",
      summary: "Get a task",
      description: "Status, attempts, input, result or error, and timings. Another user's task is a 404.",
      auth: "required",
      scope: "tasks:read",
      rateLimit: "default",
      params: taskId,
      success: { status: 200, description: "The task", schema: TaskViewSchema },
      errors: taskErrors,
    },
    {
      method: "post",
      path: "/api/v1/tasks/:id/cancel",
      subject: Subjects.tasks.cancel,
      tag: "tasks",
      summary: "Cancel a task",
      description: "A queued task is cancelled at once; a running one is aborted on whichever executor runs it. A finished task is a 409.",
      auth: "required",
      scope: "tasks:write",
      rateLimit: "default",
      params: taskId,
      success: { status: 200, description: "The cancelled task", schema: TaskViewSchema },
      errors: ["NOT_FOUND", "CONFLICT"],
    },
    {
      method: "get",
      path: "/api/v1/tasks/:id/logs",
      subject: Subjects.tasks.logs,
      tag: "tasks",
      summary: "A task's log lines",
      description: "What the agent logged, per attempt, oldest first.",
      auth: "required",
      scope: "tasks:read",
      rateLimit: "default",
      params: taskId,
      success: { status: 200, description: "Log lines", schema: TaskLogsSchema },
      errors: taskErrors,
    },
    {
      method: "post",
      path: "/api/v1/tasks/:id/requeue",
      subject: Subjects.tasks.requeue,
      tag: "tasks",
      summary: "Re-queue a finished task (admin)",
      description: "Puts a dead-lettered, failed, timed-out or cancelled task back on the queue with fresh attempts.",
      auth: "required",
      roles: ["admin"],
      rateLimit: "default",
      params: taskId,
      success: { status: 200, description: "The re-queued task", schema: TaskViewSchema },
      errors: ["NOT_FOUND", "CONFLICT"],
    },
    {
      method: "get",
      path: "/api/v1/analytics/dashboard",
      subject: Subjects.analytics.dashboard,
      tag: "analytics",
      summary: "The platform at a glance",
      description:
        "Tasks by status, success rate, run-time percentiles, retries, dead letters, the busiest agents and the queue depth now, over the last day, week, month, quarter or year. A user sees their own tasks, an admin everyone's. Figures come from hourly rollups a few seconds behind; the queue depth is live.",
      auth: "required",
      scope: "tasks:read",
      rateLimit: "default",
      query: DashboardRequestSchema,
      success: { status: 200, description: "The figures", schema: AnalyticsFiguresSchema },
      errors: [],
    },
    {
      method: "get",
      path: "/api/v1/analytics/agents/:agent",
      subject: Subjects.analytics.agent,
      tag: "analytics",
      summary: "One agent's figures",
      description: "The dashboard's figures for one agent, named by id or by its current name (of the caller's own tasks unless the caller is an admin).",
      auth: "required",
      scope: "tasks:read",
      rateLimit: "default",
      params: Joi.object({ agent: Joi.string().pattern(/^[a-z0-9][a-z0-9-]{0,63}$/).required() }),
      query: DashboardRequestSchema,
      success: { status: 200, description: "The agent's figures", schema: AnalyticsFiguresSchema },
      errors: ["NOT_FOUND"],
    },
    {
      method: "get",
      path: "/api/v1/analytics/timeseries/:metric",
      subject: Subjects.analytics.timeseries,
      tag: "analytics",
      summary: "A metric per time bucket",
      description: `One of ${TimeseriesMetrics.join(", ")} per hour, day or week over the range, every bucket present (empty ones are 0, or null for percentiles).`,
      auth: "required",
      scope: "tasks:read",
      rateLimit: "default",
      params: Joi.object({ metric: Joi.string().valid(...TimeseriesMetrics).required() }),
      query: TimeseriesRequestSchema.fork(["metric"], (m) => m.optional().strip()),
      success: { status: 200, description: "The series", schema: TimeseriesSchema },
      errors: ["VALIDATION_FAILED"],
    },
    {
      method: "get",
      path: "/api/v1/analytics/export",
      subject: Subjects.analytics.exportPage,
      tag: "analytics",
      summary: "Export the task history",
      description:
        "Every task of the range (the caller's own, or everyone's for an admin) in creation order, streamed as CSV or a JSON array: the gateway reads the history page by page and never holds it whole. Its own strict rate limit.",
      auth: "required",
      scope: "tasks:read",
      rateLimit: "export",
      query: Joi.object({ format: Joi.string().valid("csv", "json").default("csv"), range: DashboardRequestSchema.extract("range") }),
      success: { status: 200, description: "The rows, streamed" },
      streamPages: { produces: ["text/csv", "application/json"] },
      errors: [],
    },
    {
      method: "get",
      path: "/api/v1/users",
      subject: Subjects.auth.usersList,
      tag: "users",
      summary: "List users (admin)",
      description: "Every account, oldest first, with its roles and whether it is disabled; `q` matches the username or email.",
      auth: "required",
      roles: ["admin"],
      scope: "admin",
      rateLimit: "default",
      query: ListUsersRequestSchema,
      success: { status: 200, description: "A page of users", schema: AdminUserListSchema },
      errors: [],
    },
    {
      method: "patch",
      path: "/api/v1/users/:id",
      subject: Subjects.auth.usersUpdate,
      tag: "users",
      summary: "Change a user's roles or disable them (admin)",
      description:
        "New roles apply from the user's next sign-in: their current sessions end. Disabling also revokes every API key of the user; both stop working at every gateway within about a second. Admins cannot disable themselves or drop their own admin role.",
      auth: "required",
      roles: ["admin"],
      scope: "admin",
      rateLimit: "default",
      revokes: true,
      params: UserIdParamsSchema,
      body: UpdateUserBodySchema,
      success: { status: 200, description: "The user as changed", schema: AdminUserViewSchema },
      errors: ["NOT_FOUND", "CONFLICT"],
    },
  ];
}

function accountRoutes(): RouteSpec[] {
  /** Deleting an account waits for the executor and the registry to clear what the user owned. */
  const ACCOUNT_DELETION_EXTRA_MS = 30_000;
  const ACCOUNT_DELETION =
    "The account is disabled and every session and API key revoked at once (every gateway refuses them within about a second), " +
    "then its queued and running tasks are cancelled with error code `OWNER_DELETED` (running ones are aborted), its agents are deleted " +
    "(tasks others queued on them are cancelled as for any deleted agent), and the account with its tokens and keys is removed. " +
    "Finished tasks stay in the history until the executor's task retention purges them. Should a service be unavailable the answer is " +
    "503/504 with the account left disabled; deleting again completes it. The last admin cannot be deleted.";
  return [
    {
      method: "get",
      path: "/api/v1/users/:id",
      subject: Subjects.auth.usersGet,
      tag: "users",
      summary: "Get a user (admin)",
      description: "One account with its roles and whether it is disabled.",
      auth: "required",
      roles: ["admin"],
      scope: "admin",
      rateLimit: "default",
      params: UserIdParamsSchema,
      success: { status: 200, description: "The user", schema: AdminUserViewSchema },
      errors: ["NOT_FOUND"],
    },
    {
      method: "delete",
      path: "/api/v1/users/:id",
      subject: Subjects.auth.usersDelete,
      tag: "users",
      summary: "Delete a user (admin)",
      description: `${ACCOUNT_DELETION} Admins cannot delete themselves through this route (409).`,
      auth: "required",
      roles: ["admin"],
      scope: "admin",
      rateLimit: "default",
      revokes: true,
      params: UserIdParamsSchema,
      extraTimeoutMs: () => ACCOUNT_DELETION_EXTRA_MS,
      success: { status: 200, description: "What was removed", schema: AccountDeletedSchema },
      errors: ["NOT_FOUND", "CONFLICT"],
    },
    {
      method: "delete",
      path: "/api/v1/auth/me",
      subject: Subjects.auth.meDelete,
      tag: "auth",
      summary: "Delete your own account",
      description: `The password in the body confirms it (a wrong one counts against the sign-in lock). ${ACCOUNT_DELETION}`,
      auth: "required",
      scope: "profile:read",
      // It checks a password: the sign-in budget, refused (503) rather than unlimited when Redis is away.
      rateLimit: "login",
      rateLimitFailClosed: true,
      revokes: true,
      body: DeleteMeRequestSchema,
      extraTimeoutMs: () => ACCOUNT_DELETION_EXTRA_MS,
      success: { status: 200, description: "What was removed", schema: AccountDeletedSchema },
      errors: ["INVALID_CREDENTIALS", "LOGIN_LOCKED", "CONFLICT"],
    },
    {
      method: "post",
      path: "/api/v1/auth/logout-all",
      subject: Subjects.auth.logoutAll,
      tag: "auth",
      summary: "Log out everywhere",
      description: "Revokes every session of the caller: all refresh tokens, and their access tokens at every gateway within about a second. API keys are not affected.",
      auth: "required",
      rateLimit: "default",
      revokes: true,
      success: { status: 200, description: "Every session is revoked", schema: SessionsEndedSchema },
      errors: [],
    },
  ];
}
