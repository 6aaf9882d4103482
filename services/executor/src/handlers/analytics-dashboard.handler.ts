import { DashboardRequestSchema, Subjects, type AnalyticsFigures, type DashboardRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { dashboard } from "../domain/analytics.js";
import type { ExecutorDeps } from "../domain/deps.js";

export const analyticsDashboardHandler = (deps: ExecutorDeps): EndpointDefinition<DashboardRequest, AnalyticsFigures> => ({
  subject: Subjects.analytics.dashboard,
  schema: DashboardRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => dashboard(deps, principal!, data.range),
});
