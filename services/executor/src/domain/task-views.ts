import { createHash } from "node:crypto";
import type { TaskView } from "@meridian/contracts";
import type { Task } from "../store/tables.js";

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toTaskView(task: Task): TaskView {
  const self = `/api/v1/tasks/${task.id}`;
  return {
    id: task.id,
    agent: task.agent,
    agent_id: task.agent_id,
    agent_version: task.agent_version,
    owner_id: task.owner_id,
    status: task.status,
    attempts: task.attempts,
    max_attempts: task.max_attempts,
    input: task.input ?? null,
    result: task.result ?? null,
    error: task.error ?? null,
    correlation_id: task.correlation_id,
    created_at: new Date(task.created_at).toISOString(),
    updated_at: new Date(task.updated_at).toISOString(),
    started_at: iso(task.started_at),
    finished_at: iso(task.finished_at),
    links: { self, logs: `${self}/logs`, cancel: `${self}/cancel` },
  };
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Same agent and same input (whatever the key order) give the same fingerprint. */
export function requestFingerprint(agentId: string, input: unknown): string {
  return createHash("sha256").update(JSON.stringify([agentId, canonical(input)])).digest("base64url");
}
