import { emptyObject, Subjects, type SessionsEnded } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { logoutAll } from "../domain/account-removal.js";
import type { AuthDeps } from "../domain/deps.js";

export const logoutAllHandler = (deps: AuthDeps): EndpointDefinition<object, SessionsEnded> => ({
  subject: Subjects.auth.logoutAll,
  schema: emptyObject,
  requiresPrincipal: true,
  handler: ({ principal }) => logoutAll(deps, principal!),
});
