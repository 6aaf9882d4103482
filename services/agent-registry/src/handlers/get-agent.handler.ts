import { AgentNameRequestSchema, Subjects, type AgentNameRequest, type AgentView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { getAgent } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const getAgentHandler = (deps: AgentRegistryDeps): EndpointDefinition<AgentNameRequest, AgentView> => ({
  subject: Subjects.agents.get,
  schema: AgentNameRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => getAgent(deps, principal!, data.name),
});
