import { sql, type Kysely } from "kysely";

/** Events whose number is taken but whose publish the stream has not confirmed yet (see events/task-events.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("task_event_outbox")
    .addColumn("task_id", "uuid", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("event", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("task_event_outbox_pk", ["task_id", "seq"])
    .execute();
  await db.schema.createIndex("task_event_outbox_created_idx").on("task_event_outbox").column("created_at").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("task_event_outbox").execute();
}
