import { Kvm, type KV, type KvWatchEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { Buckets, REVOKED_SESSIONS_TTL_MS, RevokedEntryKeys } from "@meridian/contracts";
import type { Logger } from "./logger.js";

const RESTART_DELAY_MS = 1000;

/** A credential that reached the revoked-credentials bucket: a session (logout, token reuse, disabled user) or an API key. */
export interface Revocation {
  kind: "session" | "api_key";
  id: string;
}

/**
 * The revoked-credentials bucket held in memory from a KV watch: one Set lookup per request instead of a
 * KV read. Down (and its service not ready) until the watch has delivered every stored entry, while NATS is
 * disconnected and while a broken watch restarts. Listeners hear each revocation as it arrives (realtime
 * closes the credential's sockets).
 */
export class RevocationWatch {
  private readonly sessions = new Map<string, number>();
  private readonly apiKeys = new Map<string, number>();
  private revision = 0;
  private initialized = false;
  /** The bucket's last revision when the watch started: loaded once the watch has applied it. */
  private initialTarget = Number.POSITIVE_INFINITY;
  private connected = true;
  private stopped = false;
  private iterator?: { stop(): void };
  private waiters: Array<{ revision: number; resolve: () => void }> = [];
  private pruneTimer?: NodeJS.Timeout;
  private readonly listeners = new Set<(revocation: Revocation) => void>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating if needed) the bucket and resolves once the stored entries are loaded. */
  static async start(nc: NatsConnection, logger: Logger, replicas = 1): Promise<RevocationWatch> {
    const kv = await new Kvm(nc).create(Buckets.revokedSessions, { ttl: REVOKED_SESSIONS_TTL_MS, history: 1, replicas });
    const watch = new RevocationWatch(nc, kv, logger);
    void watch.followConnection();
    await watch.run();
    if (!(await watch.caughtUp(10_000))) logger.warn("revocation watch still loading; not ready until it has");
    watch.pruneTimer = setInterval(() => watch.prune(), 60 * 60 * 1000).unref();
    return watch;
  }

  sessionRevoked(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  apiKeyRevoked(keyId: string): boolean {
    return this.apiKeys.has(keyId);
  }

  /** Calls back for every revocation applied from now on; returns the unsubscribe. */
  onRevoked(listener: (revocation: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** For readiness: throws while revocations might be missed. */
  check(): void {
    if (!this.initialized) throw new Error("revocation watch is loading");
    if (!this.iterator) throw new Error("revocation watch is down");
    if (!this.connected) throw new Error("revocation watch is disconnected");
  }

  /**
   * Resolves once every entry stored so far has been applied: after this service forwarded a logout or a
   * key revocation, its next request already sees it (read your own writes). Other replicas lag by the watch.
   */
  async caughtUp(timeoutMs = 1000): Promise<boolean> {
    const state = (await this.kv.status()).streamInfo.state;
    const target = state.messages === 0 ? 0 : state.last_seq;
    if (!this.initialized) this.initialTarget = Math.min(this.initialTarget, target);
    if (this.revision >= target) {
      this.initialized = true;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push({ revision: target, resolve: () => (clearTimeout(timer), resolve(true)) });
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pruneTimer);
    this.iterator?.stop();
  }

  private apply(entry: KvWatchEntry): void {
    const at = entry.created.getTime();
    const revoked = entry.operation === "PUT";
    if (entry.key.startsWith(RevokedEntryKeys.sessionPrefix)) {
      const id = entry.key.slice(RevokedEntryKeys.sessionPrefix.length);
      if (revoked) this.sessions.set(id, at);
      else this.sessions.delete(id);
      if (revoked) this.notify({ kind: "session", id });
    } else if (entry.key.startsWith(RevokedEntryKeys.apiKeyPrefix)) {
      const id = entry.key.slice(RevokedEntryKeys.apiKeyPrefix.length);
      if (revoked) this.apiKeys.set(id, at);
      else this.apiKeys.delete(id);
      if (revoked) this.notify({ kind: "api_key", id });
    }
    this.revision = Math.max(this.revision, entry.revision);
    if (!this.initialized && this.revision >= this.initialTarget) this.initialized = true;
    if (this.waiters.length) {
      const due = this.waiters.filter((w) => w.revision <= this.revision);
      this.waiters = this.waiters.filter((w) => w.revision > this.revision);
      for (const w of due) w.resolve();
    }
  }

  private notify(revocation: Revocation): void {
    for (const listener of this.listeners) {
      try {
        listener(revocation);
      } catch (err) {
        this.logger.warn("revocation listener failed", { error: String(err) });
      }
    }
  }

  /** Watches from the last applied revision; a watch that ends is restarted after a pause. */
  private async run(): Promise<void> {
    const iterator = await this.kv.watch({
      key: ">",
      ...(this.revision > 0 ? { resumeFromRevision: this.revision + 1 } : {}),
    });
    this.iterator = iterator;
    void (async () => {
      for await (const entry of iterator) this.apply(entry);
    })()
      .catch((err: unknown) => this.logger.warn("revocation watch failed", { error: String(err) }))
      .finally(() => {
        this.iterator = undefined;
        if (!this.stopped) void this.restart();
      });
  }

  private async restart(): Promise<void> {
    while (!this.stopped && !this.nc.isClosed()) {
      await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
      try {
        await this.run();
        this.logger.info("revocation watch restarted", { revision: this.revision });
        return;
      } catch (err) {
        this.logger.warn("revocation watch restart failed", { error: String(err) });
      }
    }
  }

  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === "disconnect") this.connected = false;
      else if (status.type === "reconnect") {
        // The ordered consumer resumes after the last entry it delivered; wait for what was missed.
        const up = () => void (this.connected = true);
        this.caughtUp(5000).then(up, up);
      }
    }
  }

  /** Entries older than the bucket's TTL are gone from the bucket and every token they could stop has expired. */
  private prune(): void {
    const horizon = Date.now() - REVOKED_SESSIONS_TTL_MS;
    for (const map of [this.sessions, this.apiKeys]) for (const [id, at] of map) if (at < horizon) map.delete(id);
  }
}
