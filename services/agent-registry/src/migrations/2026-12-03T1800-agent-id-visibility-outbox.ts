import { sql, type Kysely } from "kysely";

/**
 * `id`: immutable, and new whenever a name is created again (see insertAgent), so tasks bound to an id
 * never reach a later agent of the same name. `visibility`: private by default.
 * `agent_event_outbox`: each change's event, written in the change's transaction and deleted once the
 * stream has confirmed it (see events/agent-events.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("agents")
    .addColumn("id", "uuid", (c) => c.notNull().defaultTo(sql`gen_random_uuid()`))
    .addColumn("visibility", "text", (c) => c.notNull().defaultTo("private").check(sql`visibility in ('private', 'public')`))
    .execute();
  await db.schema.alterTable("agents").addUniqueConstraint("agents_id_key", ["id"]).execute();
  await db.schema
    .createIndex("agents_public_idx")
    .on("agents")
    .column("name")
    .where(sql<boolean>`visibility = 'public' and enabled and deleted_at is null`)
    .execute();

  await db.schema
    .createTable("agent_event_outbox")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("agent_name", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("msg_id", "text", (c) => c.notNull().unique())
    // json, not jsonb: the event goes out byte for byte as it was written.
    .addColumn("event", "json", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("agent_event_outbox_agent_idx").on("agent_event_outbox").columns(["agent_name", "version"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("agent_event_outbox").execute();
  await db.schema.dropIndex("agents_public_idx").execute();
  await db.schema.alterTable("agents").dropConstraint("agents_id_key").execute();
  await db.schema.alterTable("agents").dropColumn("visibility").dropColumn("id").execute();
}
