import { agentIdOfWorkerSubject, ProgressRequestSchema, workerSubjectPattern, type ProgressRequest, type AttemptReply } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { WorkerProtocol } from "../domain/worker-protocol.js";

/** Worker protocol: `meridian.worker.<agent id>.progress`; NATS permissions scope a worker to its agent's subjects. */
export const workerProgressHandler = (protocol: WorkerProtocol): EndpointDefinition<ProgressRequest, AttemptReply> => ({
  subject: workerSubjectPattern("progress"),
  schema: ProgressRequestSchema,
  handler: ({ data, subject }) => protocol.progress(agentIdOfWorkerSubject(subject)!, data),
});
