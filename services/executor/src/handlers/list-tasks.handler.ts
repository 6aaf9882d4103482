import { ListTasksRequestSchema, Subjects, type ListTasksRequest, type TaskList } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { listTasks } from "../domain/tasks.js";

export const listTasksHandler = (deps: ExecutorDeps): EndpointDefinition<ListTasksRequest, TaskList> => ({
  subject: Subjects.tasks.list,
  schema: ListTasksRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => listTasks(deps, principal!, data),
});
