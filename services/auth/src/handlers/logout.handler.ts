import { emptyObject, Subjects } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";
import { logout } from "../domain/sessions.js";

export const logoutHandler = (deps: AuthDeps): EndpointDefinition<object, { revoked: true }> => ({
  subject: Subjects.auth.logout,
  schema: emptyObject,
  requiresPrincipal: true,
  handler: ({ principal }) => logout(deps, principal!),
});
