import { TaskIdRequestSchema, Subjects, type TaskIdRequest, type TaskView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { getTask } from "../domain/tasks.js";

export const getTaskHandler = (deps: ExecutorDeps): EndpointDefinition<TaskIdRequest, TaskView> => ({
  subject: Subjects.tasks.get,
  schema: TaskIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => getTask(deps, principal!, data.id),
});
