import { UserIdRequestSchema, Subjects, type AdminUserView, type UserIdRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { getUser } from "../domain/account-removal.js";
import type { AuthDeps } from "../domain/deps.js";

export const usersGetHandler = (deps: AuthDeps): EndpointDefinition<UserIdRequest, AdminUserView> => ({
  subject: Subjects.auth.usersGet,
  schema: UserIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => getUser(deps, principal!, data.id),
});
