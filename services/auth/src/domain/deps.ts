import type { Logger, RevokedSessions } from "@meridian/service-kit";
import type { OwnedResources } from "./account-removal.js";
import type { ThrottlePolicy } from "../store/login-throttle.store.js";
import type { AuthDb } from "../store/user.store.js";
import type { ApiKeyRevocations } from "../events/api-key-revocations.js";
import type { KeyUseRecorder } from "./key-uses.js";
import type { PasswordHasher } from "./password.js";
import type { TokenSigner } from "./token-signer.js";

/** The ports the auth use cases work with; built once in service.ts. */
export interface AuthDeps {
  db: AuthDb;
  hasher: PasswordHasher;
  signer: TokenSigner;
  revokedSessions: RevokedSessions;
  apiKeyRevocations: ApiKeyRevocations;
  keyUses: KeyUseRecorder;
  refreshTtlSeconds: number;
  /** Failed sign-ins per account: free attempts, then a doubling lock up to a cap. */
  loginThrottle: ThrottlePolicy;
  /** The deleted account's agents and tasks, held by the registry and the executor. */
  owned: OwnedResources;
  logger: Logger;
}
