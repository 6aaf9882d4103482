import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { cancelTaskHandler } from "./cancel-task.handler.js";
import { getTaskHandler } from "./get-task.handler.js";
import { listTasksHandler } from "./list-tasks.handler.js";
import { requeueTaskHandler } from "./requeue-task.handler.js";
import { submitBatchHandler } from "./submit-batch.handler.js";
import { submitTaskHandler } from "./submit-task.handler.js";
import { taskLogsHandler } from "./task-logs.handler.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const executorHandlers = (deps: ExecutorDeps): Array<EndpointDefinition<any, unknown>> => [
  submitTaskHandler(deps),
  submitBatchHandler(deps),
  getTaskHandler(deps),
  listTasksHandler(deps),
  cancelTaskHandler(deps),
  taskLogsHandler(deps),
  requeueTaskHandler(deps),
];
