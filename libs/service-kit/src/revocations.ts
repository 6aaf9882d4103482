import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { Buckets, REVOKED_SESSIONS_TTL_MS } from "@meridian/contracts";

/**
 * The revoked-sessions bucket: auth writes `sid.<session>` on logout or token reuse; the gateway and
 * realtime hold it in memory ({@link RevocationWatch}). Creating it is idempotent, so every user opens it this way.
 */
export class RevokedSessions {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, replicas = 1): Promise<RevokedSessions> {
    const kv = await new Kvm(nc).create(Buckets.revokedSessions, { ttl: REVOKED_SESSIONS_TTL_MS, history: 1, replicas });
    return new RevokedSessions(kv);
  }

  async revoke(sessionId: string): Promise<void> {
    await this.kv.put(`sid.${sessionId}`, new Date().toISOString());
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    const entry = await this.kv.get(`sid.${sessionId}`);
    return entry !== null && entry.operation === "PUT";
  }
}
