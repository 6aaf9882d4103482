import { ApiKeyCreateRequestSchema, Subjects, type ApiKeyCreated, type ApiKeyCreateRequest } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { createApiKey } from "../domain/api-keys.js";
import type { AuthDeps } from "../domain/deps.js";

export const apiKeyCreateHandler = (deps: AuthDeps): EndpointDefinition<ApiKeyCreateRequest, ApiKeyCreated> => ({
  subject: Subjects.auth.apiKeyCreate,
  schema: ApiKeyCreateRequestSchema,
  requiresPrincipal: true,
  handler: ({ data, principal }) => createApiKey(deps, principal!, data),
});
