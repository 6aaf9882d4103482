import { AgentNameRequestSchema, Subjects, type AgentDeleted, type AgentNameRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { removeAgent } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const deleteAgentHandler = (deps: AgentRegistryDeps): EndpointDefinition<AgentNameRequest, AgentDeleted> => ({
  subject: Subjects.agents.delete,
  schema: AgentNameRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => removeAgent(deps, principal!, data.name),
});
