import { AgentNameRequestSchema, Subjects, type AgentNameRequest, type WorkerCredentials } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AgentRegistryDeps } from "../domain/deps.js";
import { issueWorkerCredentials } from "../domain/worker-credentials.js";

export const workerCredentialsHandler = (deps: AgentRegistryDeps): EndpointDefinition<AgentNameRequest, WorkerCredentials> => ({
  subject: Subjects.agents.workerCredentials,
  schema: AgentNameRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => issueWorkerCredentials(deps, principal!, data.name),
});
