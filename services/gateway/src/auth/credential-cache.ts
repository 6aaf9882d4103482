import type { Principal } from "@meridian/contracts";

/** A caller as the gateway established it, with the `Meridian-Principal` header value serialised once. */
export interface Verified {
  principal: Principal;
  header: string;
  /** Epoch ms after which the credential must be verified again. */
  until: number;
}

export function verified(principal: Principal, until: number): Verified {
  return { principal, header: JSON.stringify(principal), until };
}

/**
 * Verified credentials by token (or key hash) until they expire. Bounded: when full, the oldest entry goes.
 * Revocation is not its business: callers check the revocation watch on every hit.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Verified>();

  constructor(private readonly maxEntries = 10_000) {}

  get(key: string, now = Date.now()): Verified | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: Verified): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
