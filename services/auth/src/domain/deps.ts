import type { Logger, RevokedSessions } from "@meridian/service-kit";
import type { AuthDb } from "../store/user.store.js";
import type { PasswordHasher } from "./password.js";
import type { TokenSigner } from "./token-signer.js";

/** The ports the auth use cases work with; built once in service.ts. */
export interface AuthDeps {
  db: AuthDb;
  hasher: PasswordHasher;
  signer: TokenSigner;
  revokedSessions: RevokedSessions;
  refreshTtlSeconds: number;
  logger: Logger;
}
