import { Subjects, TimeseriesRequestSchema, type Timeseries, type TimeseriesRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { timeseries } from "../domain/analytics.js";
import type { ExecutorDeps } from "../domain/deps.js";

export const analyticsTimeseriesHandler = (deps: ExecutorDeps): EndpointDefinition<TimeseriesRequest, Timeseries> => ({
  subject: Subjects.analytics.timeseries,
  schema: TimeseriesRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => timeseries(deps, principal!, data),
});
