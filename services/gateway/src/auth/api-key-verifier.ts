import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { Subjects, type Principal } from "@meridian/contracts";
import { requestJson } from "@meridian/service-kit";

/** Asks auth who an API key stands for; answers are cached briefly (revocation lag = cache time). */
export class ApiKeyVerifier {
  private cache = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly cacheMs: number,
  ) {}

  async verify(key: string): Promise<Principal> {
    const id = createHash("sha256").update(key).digest("base64url");
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) return hit.principal;
    const principal = await requestJson<Principal>(this.nc, Subjects.auth.apiKeyVerify, { key }, { timeoutMs: this.timeoutMs });
    if (this.cacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(id, { principal, until: Date.now() + this.cacheMs });
    }
    return principal;
  }
}
