import { agentIdOfWorkerSubject, AttemptRefSchema, workerSubjectPattern, type AttemptRef, type AttemptReply } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { WorkerProtocol } from "../domain/worker-protocol.js";

/** Worker protocol: `meridian.worker.<agent id>.heartbeat`; NATS permissions scope a worker to its agent's subjects. */
export const workerHeartbeatHandler = (protocol: WorkerProtocol): EndpointDefinition<AttemptRef, AttemptReply> => ({
  subject: workerSubjectPattern("heartbeat"),
  schema: AttemptRefSchema,
  handler: ({ data, subject }) => protocol.heartbeat(agentIdOfWorkerSubject(subject)!, data),
});
