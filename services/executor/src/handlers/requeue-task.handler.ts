import { TaskIdRequestSchema, Subjects, type TaskIdRequest, type TaskView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { requeueTask } from "../domain/tasks.js";

export const requeueTaskHandler = (deps: ExecutorDeps): EndpointDefinition<TaskIdRequest, TaskView> => ({
  subject: Subjects.tasks.requeue,
  schema: TaskIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => requeueTask(deps, principal!, data.id),
});
