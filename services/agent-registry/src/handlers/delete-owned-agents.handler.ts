import { OwnerIdRequestSchema, Subjects, type OwnedAgentsDeleted, type OwnerIdRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { removeOwnedAgents } from "../domain/agents.js";
import type { AgentRegistryDeps } from "../domain/deps.js";

export const deleteOwnedAgentsHandler = (deps: AgentRegistryDeps): EndpointDefinition<OwnerIdRequest, OwnedAgentsDeleted> => ({
  subject: Subjects.agents.deleteOwned,
  schema: OwnerIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => removeOwnedAgents(deps, principal!, data.owner_id),
});
