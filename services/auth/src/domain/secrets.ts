import { createHash, randomBytes, randomUUID } from "node:crypto";

/** Opaque tokens carry 256 random bits, so a fast hash is enough to store them. */
export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

export function newRefreshToken(): { id: string; token: string } {
  const id = randomUUID();
  return { id, token: `rt_${id}.${randomBytes(32).toString("base64url")}` };
}

export function newApiKey(): { id: string; key: string; prefix: string } {
  const id = randomUUID();
  const prefix = `mk_${id.slice(0, 8)}`;
  return { id, key: `${prefix}_${randomBytes(32).toString("base64url")}`, prefix };
}
