import type { Migration } from "@meridian/service-kit";
import * as agents from "./2026-11-23T1200-agents.js";
import * as agentIdVisibilityOutbox from "./2026-12-03T1800-agent-id-visibility-outbox.js";

/** Every migration of the agent_registry schema, by name; names sort in the order they apply. */
export const migrations: Record<string, Migration> = {
  "2026-11-23T1200-agents": agents,
  "2026-12-03T1800-agent-id-visibility-outbox": agentIdVisibilityOutbox,
};

export const SCHEMA = "agent_registry";
