import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { MeridianError, Subjects, type Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";
import { CredentialCache, verified, type Verified } from "./credential-cache.js";
import type { RevocationWatch } from "./revocations.js";

/**
 * Asks auth who an API key stands for and keeps the answer for `cacheMs`. A revoked key stops at once:
 * every hit is checked against the revocation watch, which auth feeds before it confirms the revocation.
 */
export class ApiKeyVerifier {
  private readonly cache = new CredentialCache();

  constructor(
    private readonly nc: NatsConnection,
    private readonly revocations: RevocationWatch,
    private readonly timeoutMs: number,
    private readonly cacheMs: number,
  ) {}

  async verify(key: string): Promise<Verified> {
    const id = createHash("sha256").update(key).digest("base64url");
    const hit = this.cache.get(id);
    if (hit && !this.revoked(hit.principal)) return hit;
    if (hit) {
      this.cache.delete(id);
      throw new MeridianError("INVALID_TOKEN", "API key is invalid, expired or revoked");
    }
    const principal = await requestJson<Principal>(this.nc, Subjects.auth.apiKeyVerify, { key }, { timeoutMs: this.timeoutMs });
    const entry = verified(principal, Date.now() + this.cacheMs);
    if (this.cacheMs > 0) this.cache.set(id, entry);
    return entry;
  }

  private revoked(principal: Principal): boolean {
    return principal.keyId !== undefined && this.revocations.apiKeyRevoked(principal.keyId);
  }
}
