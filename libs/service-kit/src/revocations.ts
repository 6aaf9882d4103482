import { KvWatchInclude, Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { Buckets, REVOKED_SESSIONS_TTL_MS } from "@meridian/contracts";

/**
 * The revoked-sessions bucket: auth writes `sid.<session>` on logout or token reuse; the gateway and
 * realtime read it on every authenticated call. Creating it is idempotent, so every user opens it this way.
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

  /** Calls back for every session revoked from now on (realtime disconnects its sockets). */
  async watch(onRevoked: (sessionId: string) => void): Promise<{ stop(): void }> {
    const iter = await this.kv.watch({ key: "sid.>", include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const entry of iter) if (entry.operation === "PUT") onRevoked(entry.key.slice("sid.".length));
    })().catch(() => undefined);
    return { stop: () => iter.stop() };
  }
}
