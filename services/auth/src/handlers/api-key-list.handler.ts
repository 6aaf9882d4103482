import { emptyObject, Subjects, type ApiKeyView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { listKeys } from "../domain/api-keys.js";
import type { AuthDeps } from "../domain/deps.js";

export const apiKeyListHandler = (deps: AuthDeps): EndpointDefinition<object, { items: ApiKeyView[] }> => ({
  subject: Subjects.auth.apiKeyList,
  schema: emptyObject,
  requiresPrincipal: true,
  handler: ({ principal }) => listKeys(deps, principal!),
});
