import { sql } from "kysely";
import type { RefreshToken } from "./tables.js";
import type { AuthDb } from "./user.store.js";

export async function insertRefreshToken(
  db: AuthDb,
  token: { id: string; family_id: string; user_id: string; token_hash: string; expires_at: Date },
): Promise<void> {
  await db.insertInto("refresh_tokens").values(token).execute();
}

/** Mark a live token used, atomically: of two concurrent refreshes with one token, only one wins. */
export async function consumeRefreshToken(db: AuthDb, tokenHash: string): Promise<RefreshToken | undefined> {
  return db
    .updateTable("refresh_tokens")
    .set({ rotated_at: sql`now()` })
    .where("token_hash", "=", tokenHash)
    .where("rotated_at", "is", null)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}

export async function findRefreshToken(db: AuthDb, tokenHash: string): Promise<RefreshToken | undefined> {
  return db.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
}

export async function revokeFamily(db: AuthDb, familyId: string, reason: string): Promise<number> {
  const result = await db
    .updateTable("refresh_tokens")
    .set({ revoked_at: sql`now()`, revoked_reason: reason })
    .where("family_id", "=", familyId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** End every live session of a user (a disabled account): the families, for the revocation bucket. */
export async function revokeUserFamilies(db: AuthDb, userId: string, reason: string): Promise<string[]> {
  const rows = await db
    .updateTable("refresh_tokens")
    .set({ revoked_at: sql`now()`, revoked_reason: reason })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .returning("family_id")
    .execute();
  return [...new Set(rows.map((r) => r.family_id))];
}
