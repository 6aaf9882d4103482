import { TaskIdRequestSchema, Subjects, type TaskIdRequest, type TaskView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { cancelTask } from "../domain/tasks.js";

export const cancelTaskHandler = (deps: ExecutorDeps): EndpointDefinition<TaskIdRequest, TaskView> => ({
  subject: Subjects.tasks.cancel,
  schema: TaskIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => cancelTask(deps, principal!, data.id),
});
