import { RegisterRequestSchema, Subjects, type RegisterRequest, type UserView } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import { register } from "../domain/accounts.js";
import type { AuthDeps } from "../domain/deps.js";

export const registerHandler = (deps: AuthDeps): EndpointDefinition<RegisterRequest, UserView> => ({
  subject: Subjects.auth.register,
  schema: RegisterRequestSchema,
  handler: ({ data }) => register(deps, data),
});
