import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import type { WorkerProtocol } from "../domain/worker-protocol.js";
import { analyticsAgentHandler } from "./analytics-agent.handler.js";
import { analyticsDashboardHandler } from "./analytics-dashboard.handler.js";
import { analyticsExportHandler } from "./analytics-export.handler.js";
import { analyticsTimeseriesHandler } from "./analytics-timeseries.handler.js";
import { cancelTaskHandler } from "./cancel-task.handler.js";
import { cancelOwnedTasksHandler } from "./cancel-owned-tasks.handler.js";
import { getTaskHandler } from "./get-task.handler.js";
import { listTasksHandler } from "./list-tasks.handler.js";
import { requeueTaskHandler } from "./requeue-task.handler.js";
import { submitBatchHandler } from "./submit-batch.handler.js";
import { submitTaskHandler } from "./submit-task.handler.js";
import { taskLogsHandler } from "./task-logs.handler.js";
import { workerClaimHandler } from "./worker-claim.handler.js";
import { workerCompleteHandler } from "./worker-complete.handler.js";
import { workerHeartbeatHandler } from "./worker-heartbeat.handler.js";
import { workerLogHandler } from "./worker-log.handler.js";
import { workerProgressHandler } from "./worker-progress.handler.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const executorHandlers = (deps: ExecutorDeps): Array<EndpointDefinition<any, unknown>> => [
  submitTaskHandler(deps),
  submitBatchHandler(deps),
  getTaskHandler(deps),
  listTasksHandler(deps),
  cancelTaskHandler(deps),
  taskLogsHandler(deps),
  requeueTaskHandler(deps),
  analyticsDashboardHandler(deps),
  analyticsAgentHandler(deps),
  analyticsTimeseriesHandler(deps),
  analyticsExportHandler(deps),
  cancelOwnedTasksHandler(deps),
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const workerHandlers = (protocol: WorkerProtocol): Array<EndpointDefinition<any, unknown>> => [
  workerClaimHandler(protocol),
  workerHeartbeatHandler(protocol),
  workerProgressHandler(protocol),
  workerLogHandler(protocol),
  workerCompleteHandler(protocol),
];
