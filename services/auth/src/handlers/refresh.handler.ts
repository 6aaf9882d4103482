import { RefreshRequestSchema, Subjects, type RefreshRequest, type TokenPair } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";
import { refresh } from "../domain/sessions.js";

export const refreshHandler = (deps: AuthDeps): EndpointDefinition<RefreshRequest, TokenPair> => ({
  subject: Subjects.auth.refresh,
  schema: RefreshRequestSchema,
  handler: ({ data }) => refresh(deps, data.refresh_token),
});
