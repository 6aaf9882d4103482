import { SubmitBatchRequestSchema, Subjects, type SubmitBatchRequest, type SubmitBatchResult } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { submitBatch } from "../domain/tasks.js";

export const submitBatchHandler = (deps: ExecutorDeps): EndpointDefinition<SubmitBatchRequest, SubmitBatchResult> => ({
  subject: Subjects.tasks.submitBatch,
  schema: SubmitBatchRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => submitBatch(deps, principal!, data.tasks),
});
