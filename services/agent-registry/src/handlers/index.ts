import type { EndpointDefinition } from "@meridian/service-kit";
import type { AgentRegistryDeps } from "../domain/deps.js";
import { createAgentHandler } from "./create-agent.handler.js";
import { deleteAgentHandler } from "./delete-agent.handler.js";
import { deleteOwnedAgentsHandler } from "./delete-owned-agents.handler.js";
import { getAgentByIdHandler } from "./get-agent-by-id.handler.js";
import { getAgentHandler } from "./get-agent.handler.js";
import { listAgentsHandler } from "./list-agents.handler.js";
import { updateAgentHandler } from "./update-agent.handler.js";
import { workerCredentialsHandler } from "./worker-credentials.handler.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const agentRegistryHandlers = (deps: AgentRegistryDeps): Array<EndpointDefinition<any, unknown>> => [
  createAgentHandler(deps),
  getAgentHandler(deps),
  getAgentByIdHandler(deps),
  listAgentsHandler(deps),
  updateAgentHandler(deps),
  deleteAgentHandler(deps),
  workerCredentialsHandler(deps),
  deleteOwnedAgentsHandler(deps),
];
