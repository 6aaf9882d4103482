import { AgentIdRequestSchema, Subjects, type AgentIdRequest, type AgentView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { getAgentById } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const getAgentByIdHandler = (deps: AgentRegistryDeps): EndpointDefinition<AgentIdRequest, AgentView> => ({
  subject: Subjects.agents.getById,
  schema: AgentIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => getAgentById(deps, principal!, data.id),
});
