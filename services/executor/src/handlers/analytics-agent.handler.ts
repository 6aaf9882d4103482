import { AgentAnalyticsRequestSchema, Subjects, type AgentAnalytics, type AgentAnalyticsRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { agentAnalytics } from "../domain/analytics.js";
import type { ExecutorDeps } from "../domain/deps.js";

export const analyticsAgentHandler = (deps: ExecutorDeps): EndpointDefinition<AgentAnalyticsRequest, AgentAnalytics> => ({
  subject: Subjects.analytics.agent,
  schema: AgentAnalyticsRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => agentAnalytics(deps, principal!, data.agent, data.range),
});
