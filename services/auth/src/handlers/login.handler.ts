import { LoginRequestSchema, Subjects, type LoginRequest, type TokenPair } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";
import { login } from "../domain/sessions.js";

export const loginHandler = (deps: AuthDeps): EndpointDefinition<LoginRequest, TokenPair> => ({
  subject: Subjects.auth.login,
  schema: LoginRequestSchema,
  handler: ({ data }) => login(deps, data),
});
