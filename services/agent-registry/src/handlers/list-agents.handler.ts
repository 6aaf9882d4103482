import { ListAgentsRequestSchema, Subjects, type AgentList, type ValidListAgentsRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { listVisibleAgents } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const listAgentsHandler = (deps: AgentRegistryDeps): EndpointDefinition<ValidListAgentsRequest, AgentList> => ({
  subject: Subjects.agents.list,
  schema: ListAgentsRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => listVisibleAgents(deps, principal!, data),
});
