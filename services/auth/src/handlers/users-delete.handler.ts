import { UserIdRequestSchema, Subjects, type AccountDeleted, type UserIdRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { deleteUser } from "../domain/account-removal.js";
import type { AuthDeps } from "../domain/deps.js";

export const usersDeleteHandler = (deps: AuthDeps): EndpointDefinition<UserIdRequest, AccountDeleted> => ({
  subject: Subjects.auth.usersDelete,
  schema: UserIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => deleteUser(deps, principal!, data.id),
});
