import { ExportPageRequestSchema, Subjects, type ExportPage, type ExportPageRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { exportPage } from "../domain/analytics.js";
import type { ExecutorDeps } from "../domain/deps.js";

export const analyticsExportHandler = (deps: ExecutorDeps): EndpointDefinition<ExportPageRequest, ExportPage> => ({
  subject: Subjects.analytics.exportPage,
  schema: ExportPageRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => exportPage(deps, principal!, data),
});
