import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@meridian/service-kit";
import { Buckets, REVOKED_SESSIONS_TTL_MS, RevokedEntryKeys } from "@meridian/contracts";

/**
 * `apikey.<id>` in the revoked-credentials bucket: gateways cache verified keys and drop a cached key as soon
 * as its entry reaches their watch. Written before the revocation is confirmed to the caller.
 */
export class ApiKeyRevocations {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<ApiKeyRevocations> {
    return new ApiKeyRevocations(await new Kvm(nc).create(Buckets.revokedSessions, { ttl: REVOKED_SESSIONS_TTL_MS, history: 1 }));
  }

  async revoke(keyId: string): Promise<void> {
    await this.kv.put(RevokedEntryKeys.apiKey(keyId), new Date().toISOString());
  }
}
