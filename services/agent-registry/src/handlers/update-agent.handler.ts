import { Subjects, UpdateAgentRequestSchema, type AgentView, type UpdateAgentRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { changeAgent } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const updateAgentHandler = (deps: AgentRegistryDeps): EndpointDefinition<UpdateAgentRequest, AgentView> => ({
  subject: Subjects.agents.update,
  schema: UpdateAgentRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => changeAgent(deps, principal!, data),
});
