import { sql, type Kysely } from "kysely";

/** Retention finds expired and revoked refresh tokens by index, not by scanning the table. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists refresh_tokens_expires_idx on refresh_tokens (expires_at)`.execute(db);
  await sql`create index if not exists refresh_tokens_revoked_idx on refresh_tokens (revoked_at) where revoked_at is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists refresh_tokens_revoked_idx`.execute(db);
  await sql`drop index if exists refresh_tokens_expires_idx`.execute(db);
}
