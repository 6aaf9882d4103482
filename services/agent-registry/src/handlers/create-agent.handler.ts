import { CreateAgentRequestSchema, Subjects, type AgentView, type ValidCreateAgentRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { createAgent } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const createAgentHandler = (deps: AgentRegistryDeps): EndpointDefinition<ValidCreateAgentRequest, AgentView> => ({
  subject: Subjects.agents.create,
  schema: CreateAgentRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => createAgent(deps, principal!, data),
});
