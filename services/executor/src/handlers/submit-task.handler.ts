import { SubmitTaskRequestSchema, Subjects, type SubmitTaskRequest, type TaskView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { submitTask } from "../domain/tasks.js";

export const submitTaskHandler = (deps: ExecutorDeps): EndpointDefinition<SubmitTaskRequest, TaskView> => ({
  subject: Subjects.tasks.submit,
  schema: SubmitTaskRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => submitTask(deps, principal!, data),
});
