import { DeleteMeRequestSchema, Subjects, type AccountDeleted, type DeleteMeRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { deleteMe } from "../domain/account-removal.js";
import type { AuthDeps } from "../domain/deps.js";

export const meDeleteHandler = (deps: AuthDeps): EndpointDefinition<DeleteMeRequest, AccountDeleted> => ({
  subject: Subjects.auth.meDelete,
  schema: DeleteMeRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => deleteMe(deps, principal!, data),
});
