import { agentIdOfWorkerSubject, CompleteRequestSchema, workerSubjectPattern, type CompleteRequest, type AttemptReply } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { WorkerProtocol } from "../domain/worker-protocol.js";

/** Worker protocol: `meridian.worker.<agent id>.complete`; NATS permissions scope a worker to its agent's subjects. */
export const workerCompleteHandler = (protocol: WorkerProtocol): EndpointDefinition<CompleteRequest, AttemptReply> => ({
  subject: workerSubjectPattern("complete"),
  schema: CompleteRequestSchema,
  handler: ({ data, subject }) => protocol.complete(agentIdOfWorkerSubject(subject)!, data),
});
