import { OwnerIdRequestSchema, Subjects, type OwnedTasksCancelled, type OwnerIdRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { ExecutorDeps } from "../domain/deps.js";
import { cancelTasksOfDeletedOwner } from "../domain/tasks.js";

export const cancelOwnedTasksHandler = (deps: ExecutorDeps): EndpointDefinition<OwnerIdRequest, OwnedTasksCancelled> => ({
  subject: Subjects.tasks.cancelOwned,
  schema: OwnerIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => cancelTasksOfDeletedOwner(deps, principal!, data.owner_id),
});
