import Joi from "joi";
import { SUBJECT_TOKEN_PATTERN } from "../subjects.js";
import { uuid } from "./common.js";

/** An agent's name becomes a NATS subject token, so it follows {@link SUBJECT_TOKEN_PATTERN}. */
export const AGENT_NAME_PATTERN = SUBJECT_TOKEN_PATTERN;

export const AgentRuntimes = ["echo", "sleep", "http", "sdk"] as const;
export type AgentRuntime = (typeof AgentRuntimes)[number];

export type EchoAgentConfig = Record<string, never>;
export interface SleepAgentConfig { ms?: number }
export interface HttpAgentConfig { url: string; headers?: Record<string, string> }
/** Agents written with the SDK run in their own executor process; the registry keeps no settings for them. */
export type SdkAgentConfig = Record<string, never>;
export type AgentConfig = EchoAgentConfig | SleepAgentConfig | HttpAgentConfig | SdkAgentConfig;

/**
 * Who may see and run an agent. `private` (the default): its owner and admins only. `public`: every user
 * with the scopes may see and run it; the runtime and its settings stay the owner's (an http agent always
 * calls the owner's url with the owner's headers), and the caller only supplies the input.
 */
export const AgentVisibilities = ["private", "public"] as const;
export type AgentVisibility = (typeof AgentVisibilities)[number];

export const AGENT_DEFAULTS = {
  timeout_ms: 300_000,
  max_attempts: 3,
  backoff_ms: [1000, 5000, 30_000],
  concurrency: 4,
  enabled: true,
  visibility: "private",
} as const;

/** The settings each runtime accepts; unknown keys are refused. */
export const AgentConfigSchemas: Record<AgentRuntime, Joi.ObjectSchema> = {
  echo: Joi.object({}),
  sleep: Joi.object<SleepAgentConfig>({ ms: Joi.number().integer().min(1).max(600_000) }),
  http: Joi.object<HttpAgentConfig>({
    url: Joi.string().uri({ scheme: ["http", "https"] }).required(),
    headers: Joi.object().pattern(Joi.string(), Joi.string()),
  }),
  sdk: Joi.object({}),
};

const agentName = Joi.string().trim().pattern(AGENT_NAME_PATTERN).messages({
  "string.pattern.base": "'name' must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit",
});
const runtime = Joi.string().valid(...AgentRuntimes);
/** Validated against the runtime sent alongside; http needs a url, the others default to `{}`. */
const configForRuntime = Joi.any()
  .when("runtime", {
    switch: AgentRuntimes.map((r) => ({
      is: r,
      then: r === "http" ? AgentConfigSchemas[r].required() : AgentConfigSchemas[r].default({}),
    })),
  })
  .description("Settings of the runtime: echo `{}`, sleep `{ ms? }`, http `{ url, headers? }`, sdk `{}`");
const description = Joi.string().trim().max(500).allow("", null);
const timeoutMs = Joi.number().integer().min(1000).max(3_600_000);
const maxAttempts = Joi.number().integer().min(1).max(20);
const backoffMs = Joi.array().items(Joi.number().integer().min(0).max(3_600_000)).min(1).max(10);
const concurrency = Joi.number().integer().min(1).max(1000);
const visibility = Joi.string().valid(...AgentVisibilities).description("private: owner and admins only; public: every user may run it");

export interface CreateAgentRequest {
  name: string;
  runtime: AgentRuntime;
  config?: AgentConfig;
  description?: string | null;
  timeout_ms?: number;
  max_attempts?: number;
  backoff_ms?: number[];
  concurrency?: number;
  enabled?: boolean;
  visibility?: AgentVisibility;
}
/** What the schema yields: every optional setting has its default. */
export type ValidCreateAgentRequest = Required<Omit<CreateAgentRequest, "description">> & { description?: string | null };
export const CreateAgentRequestSchema = Joi.object<ValidCreateAgentRequest>({
  name: agentName.required(),
  runtime: runtime.required(),
  config: configForRuntime,
  description,
  timeout_ms: timeoutMs.default(AGENT_DEFAULTS.timeout_ms),
  max_attempts: maxAttempts.default(AGENT_DEFAULTS.max_attempts),
  backoff_ms: backoffMs.default([...AGENT_DEFAULTS.backoff_ms]),
  concurrency: concurrency.default(AGENT_DEFAULTS.concurrency),
  enabled: Joi.boolean().default(AGENT_DEFAULTS.enabled),
  visibility: visibility.default(AGENT_DEFAULTS.visibility),
}).example({
  name: "weather-fetcher",
  runtime: "http",
  config: { url: "https://agents.example.com/weather", headers: { "X-Team": "forecast" } },
  description: "Fetches the forecast for a city",
  timeout_ms: 60_000,
  max_attempts: 5,
  backoff_ms: [1000, 5000, 30_000],
  concurrency: 8,
  enabled: true,
  visibility: "private",
});

const UPDATABLE = ["runtime", "description", "timeout_ms", "max_attempts", "backoff_ms", "concurrency", "enabled", "visibility"] as const;

/** `config` is checked against `runtime`, so it travels with it; `runtime` alone resets `config` to that runtime's default. */
export type UpdateAgentRequest = Pick<CreateAgentRequest, "name"> & Partial<Omit<CreateAgentRequest, "name">>;
const updateFields = {
  runtime,
  config: configForRuntime,
  description,
  timeout_ms: timeoutMs,
  max_attempts: maxAttempts,
  backoff_ms: backoffMs,
  concurrency,
  enabled: Joi.boolean(),
  visibility,
};
export const UpdateAgentRequestSchema = Joi.object<UpdateAgentRequest>({ name: agentName.required(), ...updateFields })
  .with("config", "runtime")
  .or(...UPDATABLE)
  .messages({ "object.missing": "at least one of {#peers} must be given" })
  .example({ name: "weather-fetcher", concurrency: 16, enabled: false });

/** The HTTP body of an update: the name travels in the path, the gateway merges it back in. */
export type UpdateAgentBody = Omit<UpdateAgentRequest, "name">;
export const UpdateAgentBodySchema = Joi.object<UpdateAgentBody>(updateFields)
  .with("config", "runtime")
  .or(...UPDATABLE)
  .messages({ "object.missing": "at least one of {#peers} must be given" })
  .example({ concurrency: 16, enabled: false });

export interface ListAgentsRequest {
  runtime?: AgentRuntime;
  owner?: string;
  enabled?: boolean;
  q?: string;
  limit?: number;
  offset?: number;
}
/** What the schema yields: the page is always set. */
export type ValidListAgentsRequest = ListAgentsRequest & { limit: number; offset: number };
export const ListAgentsRequestSchema = Joi.object<ValidListAgentsRequest>({
  runtime,
  owner: uuid.description("Only agents of this user id"),
  enabled: Joi.boolean(),
  q: Joi.string().trim().min(1).max(100).description("Text to find in the name or description"),
  limit: Joi.number().integer().min(1).max(100).default(20),
  offset: Joi.number().integer().min(0).max(10_000).default(0),
}).example({ runtime: "http", enabled: true, q: "weather", limit: 20, offset: 0 });

/** Services only (the executor): an agent by its immutable id, whatever its name is now. */
export interface AgentIdRequest { id: string }
export const AgentIdRequestSchema = Joi.object<AgentIdRequest>({ id: uuid.required() });

export interface AgentNameRequest { name: string }
export const AgentNameRequestSchema = Joi.object<AgentNameRequest>({ name: agentName.required() })
  .example({ name: "weather-fetcher" });

/** What replaces each `config.headers` value of an http agent shown to anyone but its owner or an admin. */
export const REDACTED = "[redacted]";

/**
 * An agent as the registry answers it. For callers other than the owner or an admin, the values of an
 * http agent's `config.headers` (which may hold credentials) are {@link REDACTED}; events carry them in full.
 */
export interface AgentView {
  /** Immutable; a name deleted and registered again gets a new id. Tasks and queues are bound to it. */
  id: string;
  name: string;
  description: string | null;
  runtime: AgentRuntime;
  config: AgentConfig;
  timeout_ms: number;
  max_attempts: number;
  backoff_ms: number[];
  concurrency: number;
  enabled: boolean;
  visibility: AgentVisibility;
  owner_id: string;
  owner_username: string;
  created_at: string;
  updated_at: string;
  /** 1 at creation, incremented by every change. */
  version: number;
}
export const AgentViewSchema = Joi.object<AgentView>({
  id: uuid.required(),
  name: Joi.string().required(),
  description: Joi.string().allow("", null).required(),
  runtime: runtime.required(),
  config: Joi.object().required().description("Runtime settings; http header values are redacted unless the caller owns the agent or is an admin"),
  timeout_ms: Joi.number().integer().required(),
  max_attempts: Joi.number().integer().required(),
  backoff_ms: Joi.array().items(Joi.number().integer()).required(),
  concurrency: Joi.number().integer().required(),
  enabled: Joi.boolean().required(),
  visibility: visibility.required(),
  owner_id: uuid.required(),
  owner_username: Joi.string().required(),
  created_at: Joi.string().isoDate().required(),
  updated_at: Joi.string().isoDate().required(),
  version: Joi.number().integer().min(1).required().description("Incremented by every change"),
}).example({
  id: "9a7c3e1f-6b2d-4e8a-b1c0-2d3e4f5a6b7c",
  name: "weather-fetcher",
  description: "Fetches the forecast for a city",
  runtime: "http",
  config: { url: "https://agents.example.com/weather" },
  timeout_ms: 60_000,
  max_attempts: 5,
  backoff_ms: [1000, 5000, 30_000],
  concurrency: 8,
  enabled: true,
  visibility: "private",
  owner_id: "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21",
  owner_username: "ada",
  created_at: "2026-11-23T10:00:00.000Z",
  updated_at: "2026-11-23T10:00:00.000Z",
  version: 1,
});

export interface AgentList { items: AgentView[]; total: number; limit: number; offset: number }
export const AgentListSchema = Joi.object<AgentList>({
  items: Joi.array().items(AgentViewSchema).required(),
  total: Joi.number().integer().min(0).required(),
  limit: Joi.number().integer().required(),
  offset: Joi.number().integer().required(),
});

export interface AgentDeleted { deleted: true }
export const AgentDeletedSchema = Joi.object<AgentDeleted>({ deleted: Joi.boolean().valid(true).required() }).example({ deleted: true });
