import { sql } from "kysely";
import type { Scope } from "@meridian/contracts";
import type { ApiKey, User } from "./tables.js";
import type { AuthDb } from "./user.store.js";

export async function insertApiKey(
  db: AuthDb,
  key: { id: string; user_id: string; name: string; key_hash: string; prefix: string; scopes: Scope[]; expires_at: Date | null },
): Promise<ApiKey> {
  return db.insertInto("api_keys").values(key).returningAll().executeTakeFirstOrThrow();
}

export async function listApiKeys(db: AuthDb, userId: string): Promise<ApiKey[]> {
  return db
    .selectFrom("api_keys")
    .selectAll()
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .orderBy("created_at", "desc")
    .execute();
}

export async function revokeApiKey(db: AuthDb, id: string, userId: string): Promise<boolean> {
  const result = await db
    .updateTable("api_keys")
    .set({ revoked_at: sql`now()` })
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** A usable key (not revoked, not expired) with its owner; records the use. */
export async function useApiKey(db: AuthDb, keyHash: string): Promise<{ key: ApiKey; user: User } | undefined> {
  const key = await db
    .updateTable("api_keys")
    .set({ last_used_at: sql`now()` })
    .where("key_hash", "=", keyHash)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", sql<Date>`now()`)]))
    .returningAll()
    .executeTakeFirst();
  if (!key) return undefined;
  const user = await db.selectFrom("users").selectAll().where("id", "=", key.user_id).executeTakeFirst();
  return user ? { key, user } : undefined;
}
