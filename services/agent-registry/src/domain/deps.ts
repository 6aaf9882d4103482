import type { Logger, NatsUserIssuer } from "@meridian/service-kit";
import type { AgentEventPublisher } from "../events/agent-events.js";
import type { AgentDb } from "../store/agent.store.js";

/** The ports the agent use cases work with; built once in service.ts. */
export interface AgentRegistryDeps {
  db: AgentDb;
  events: AgentEventPublisher;
  logger: Logger;
  /** Signs sdk agents' worker credentials; absent when the registry was given no account signing key. */
  workerCredentials?: { issuer: NatsUserIssuer; ttlS: number };
}
