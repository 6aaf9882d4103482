import { TaskIdRequestSchema, Subjects, type TaskIdRequest, type TaskLogs } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { taskLogs } from "../domain/tasks.js";

export const taskLogsHandler = (deps: ExecutorDeps): EndpointDefinition<TaskIdRequest, TaskLogs> => ({
  subject: Subjects.tasks.logs,
  schema: TaskIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => taskLogs(deps, principal!, data.id),
});
