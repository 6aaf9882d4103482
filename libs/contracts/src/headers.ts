/** NATS header names carried on every request and event. */
export const Headers = {
  correlationId: "Meridian-Correlation-Id",
  /** JSON of the authenticated {@link Principal}, set by the gateway only. */
  principal: "Meridian-Principal",
  /** Standard NATS micro-service error headers. */
  serviceError: "Nats-Service-Error",
  serviceErrorCode: "Nats-Service-Error-Code",
} as const;

/** HTTP header names the gateway reads and writes. */
export const HttpHeaders = {
  correlationId: "X-Correlation-ID",
  processTime: "X-Process-Time",
  apiKey: "X-API-Key",
} as const;

/** Headers the http runtime sends to an agent's webhook, so the agent can make its side effects idempotent. */
export const AgentRequestHeaders = {
  taskId: "Meridian-Task-Id",
  attempt: "Meridian-Attempt",
  correlationId: "Meridian-Correlation-Id",
} as const;
