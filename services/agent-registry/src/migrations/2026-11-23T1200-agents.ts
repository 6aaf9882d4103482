import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("agents")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("description", "text")
    .addColumn("runtime", "text", (c) => c.notNull())
    .addColumn("config", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("timeout_ms", "integer", (c) => c.notNull())
    .addColumn("max_attempts", "integer", (c) => c.notNull())
    .addColumn("backoff_ms", sql`integer[]`, (c) => c.notNull())
    .addColumn("concurrency", "integer", (c) => c.notNull())
    .addColumn("enabled", "boolean", (c) => c.notNull().defaultTo(true))
    // The owner is a user of the auth service; copied here, never joined across schemas.
    .addColumn("owner_id", "uuid", (c) => c.notNull())
    .addColumn("owner_username", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // A deleted agent stays as a tombstone so its name's version keeps rising if it is created again:
    // event ids (`<name>:<version>:<type>`) must never repeat.
    .addColumn("deleted_at", "timestamptz")
    .execute();
  await db.schema.createIndex("agents_owner_idx").on("agents").column("owner_id").execute();
  await db.schema.createIndex("agents_runtime_idx").on("agents").column("runtime").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("agents").execute();
}
