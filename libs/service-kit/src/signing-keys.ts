import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { MeridianError, Subjects, type SigningKeys } from "@meridian/contracts";
import { requestJson } from "./client.js";

const REFRESH_FLOOR_MS = 10_000;

/**
 * Public keys of the auth service by `kid`, fetched over NATS. An unknown kid triggers one refetch
 * (key rotation), at most every 10 s so forged kids cannot hammer auth.
 */
export class SigningKeyCache {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  async keyFor(kid: string | undefined): Promise<KeyObject> {
    if (!kid) throw new MeridianError("INVALID_TOKEN", "Token has no key id");
    const known = this.keys.get(kid);
    if (known) return known;
    if (Date.now() - this.fetchedAt > REFRESH_FLOOR_MS || this.keys.size === 0) await this.refresh();
    const key = this.keys.get(kid);
    if (!key) throw new MeridianError("INVALID_TOKEN", "Token was signed with an unknown key");
    return key;
  }

  private refresh(): Promise<void> {
    this.inflight ??= requestJson<SigningKeys>(this.nc, Subjects.auth.signingKeys, {}, { timeoutMs: this.timeoutMs })
      .then((set) => {
        this.keys = new Map(set.keys.map((jwk) => [jwk.kid, createPublicKey({ key: jwk as JsonWebKey, format: "jwk" })]));
        this.fetchedAt = Date.now();
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}
