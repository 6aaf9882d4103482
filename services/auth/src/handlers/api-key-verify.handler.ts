import { ApiKeyVerifyRequestSchema, Subjects, type ApiKeyVerifyRequest, type Principal } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { verifyKey } from "../domain/api-keys.js";
import type { AuthDeps } from "../domain/deps.js";

export const apiKeyVerifyHandler = (deps: AuthDeps): EndpointDefinition<ApiKeyVerifyRequest, Principal> => ({
  subject: Subjects.auth.apiKeyVerify,
  schema: ApiKeyVerifyRequestSchema,
  handler: ({ data }) => verifyKey(deps, data.key),
});
