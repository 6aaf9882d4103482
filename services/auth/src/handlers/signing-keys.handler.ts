import { Subjects, type SigningKeys } from "@meridian/contracts";
import type { EndpointDefinition } from "@meridian/service-kit";
import type { AuthDeps } from "../domain/deps.js";

/** Public keys only: verifiers (gateway, realtime) fetch them instead of sharing a secret. */
export const signingKeysHandler = (deps: AuthDeps): EndpointDefinition<unknown, SigningKeys> => ({
  subject: Subjects.auth.signingKeys,
  handler: () => deps.signer.signingKeys(),
});
