import { ListUsersRequestSchema, Subjects, type AdminUserList, type ListUsersRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";
import { listUsers } from "../domain/users.js";

export const usersListHandler = (deps: AuthDeps): EndpointDefinition<ListUsersRequest, AdminUserList> => ({
  subject: Subjects.auth.usersList,
  schema: ListUsersRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => listUsers(deps, principal!, data),
});
