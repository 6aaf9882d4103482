import { agentIdOfWorkerSubject, LogRequestSchema, workerSubjectPattern, type LogRequest, type AttemptReply } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { WorkerProtocol } from "../domain/worker-protocol.js";

/** Worker protocol: `meridian.worker.<agent id>.log`; NATS permissions scope a worker to its agent's subjects. */
export const workerLogHandler = (protocol: WorkerProtocol): EndpointDefinition<LogRequest, AttemptReply> => ({
  subject: workerSubjectPattern("log"),
  schema: LogRequestSchema,
  handler: ({ data, subject }) => protocol.log(agentIdOfWorkerSubject(subject)!, data),
});
