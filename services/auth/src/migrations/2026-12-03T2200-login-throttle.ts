import { sql, type Kysely } from "kysely";

/**
 * Failed sign-ins per account (or per unknown login name, so unknown names behave the same). One row per key,
 * changed by one upsert per attempt under its row lock, so every auth replica sees the same count.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("login_throttle")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("failures", "integer", (c) => c.notNull())
    .addColumn("last_failure_at", "timestamptz", (c) => c.notNull())
    .addColumn("locked_until", "timestamptz")
    .execute();
  await sql`create index if not exists login_throttle_last_failure_idx on login_throttle (last_failure_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("login_throttle").execute();
}
