import { MeridianError } from "@meridian/contracts";
import type { CredentialVerifier, VerifiedCredential } from "@meridian/service-kit";

export interface Credentials {
  token?: unknown;
  apiKey?: unknown;
}

/** The handshake's credential through the verifier the gateway uses too: an API key, else an access token. */
export async function authenticate(credentials: Credentials, verifier: CredentialVerifier): Promise<VerifiedCredential> {
  if (typeof credentials.apiKey === "string" && credentials.apiKey) return verifier.verifyApiKey(credentials.apiKey);
  if (typeof credentials.token !== "string" || !credentials.token) throw new MeridianError("UNAUTHENTICATED", "Authentication required");
  return verifier.verifyAccessToken(credentials.token);
}
