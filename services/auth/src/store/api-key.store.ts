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

/** A usable key (not revoked, not expired) with what verification needs of its owner, in one statement. */
/** The key with this hash, revoked or expired too (the caller tells which), with its owner. */
export async function findApiKeyByHash(
  db: AuthDb,
  keyHash: string,
): Promise<{ key: ApiKey; expired: boolean; user: Pick<User, "id" | "username" | "roles" | "disabled"> } | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .innerJoin("users", "users.id", "api_keys.user_id")
    .selectAll("api_keys")
    .select(["users.username as owner_username", "users.roles as owner_roles", "users.disabled as owner_disabled"])
    .select(sql<boolean>`api_keys.expires_at is not null and api_keys.expires_at <= now()`.as("expired"))
    .where("api_keys.key_hash", "=", keyHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { owner_username, owner_roles, owner_disabled, expired, ...key } = row;
  return { key, expired, user: { id: key.user_id, username: owner_username, roles: owner_roles, disabled: owner_disabled } };
}

/** Records uses noted since the last call: one UPDATE for many keys. */
export async function markApiKeysUsed(db: AuthDb, keyIds: string[]): Promise<void> {
  if (keyIds.length === 0) return;
  await db.updateTable("api_keys").set({ last_used_at: sql`now()` }).where("id", "in", keyIds).execute();
}

/** Revoke every live key of a user (a disabled account); their ids, for the revocation bucket. */
export async function revokeUserApiKeys(db: AuthDb, userId: string): Promise<string[]> {
  const rows = await db.updateTable("api_keys").set({ revoked_at: sql`now()` }).where("user_id", "=", userId).where("revoked_at", "is", null).returning("id").execute();
  return rows.map((r) => r.id);
}
