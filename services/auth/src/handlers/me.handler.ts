import { emptyObject, Subjects, type UserView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { me } from "../domain/accounts.js";
import type { AuthDeps } from "../domain/deps.js";

export const meHandler = (deps: AuthDeps): EndpointDefinition<object, UserView> => ({
  subject: Subjects.auth.me,
  schema: emptyObject,
  requiresPrincipal: true,
  handler: ({ principal }) => me(deps, principal!),
});
