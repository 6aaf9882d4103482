import { agentIdOfWorkerSubject, ClaimRequestSchema, workerSubjectPattern, type ClaimRequest, type ClaimReply } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { WorkerProtocol } from "../domain/worker-protocol.js";

/** Worker protocol: `meridian.worker.<agent id>.claim`; NATS permissions scope a worker to its agent's subjects. */
export const workerClaimHandler = (protocol: WorkerProtocol): EndpointDefinition<ClaimRequest, ClaimReply> => ({
  subject: workerSubjectPattern("claim"),
  schema: ClaimRequestSchema,
  handler: ({ data, subject }) => protocol.claim(agentIdOfWorkerSubject(subject)!, data),
});
