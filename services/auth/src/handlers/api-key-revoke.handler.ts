import { ApiKeyIdRequestSchema, Subjects, type ApiKeyIdRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { revokeKey } from "../domain/api-keys.js";
import type { AuthDeps } from "../domain/deps.js";

export const apiKeyRevokeHandler = (deps: AuthDeps): EndpointDefinition<ApiKeyIdRequest, { revoked: true }> => ({
  subject: Subjects.auth.apiKeyRevoke,
  schema: ApiKeyIdRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => revokeKey(deps, principal!, data.id),
});
