import { Subjects, UpdateUserRequestSchema, type AdminUserView, type UpdateUserRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";
import { changeUser } from "../domain/users.js";

export const usersUpdateHandler = (deps: AuthDeps): EndpointDefinition<UpdateUserRequest, AdminUserView> => ({
  subject: Subjects.auth.usersUpdate,
  schema: UpdateUserRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => changeUser(deps, principal!, data),
});
