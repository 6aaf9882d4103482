import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("tasks")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("agent", "text", (c) => c.notNull())
    .addColumn("owner_id", "uuid", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("input", "jsonb")
    .addColumn("result", "jsonb")
    .addColumn("error", "jsonb")
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_attempts", "integer", (c) => c.notNull())
    .addColumn("timeout_ms", "integer", (c) => c.notNull())
    .addColumn("backoff_ms", sql`integer[]`, (c) => c.notNull())
    .addColumn("generation", "integer", (c) => c.notNull().defaultTo(0))
    // Outbox: the attempt whose queue message the stream confirmed; behind `attempts + 1` means "publish again".
    .addColumn("published_attempt", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("not_before", "timestamptz")
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", "timestamptz")
    .addColumn("event_seq", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("correlation_id", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("request_fingerprint", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("started_at", "timestamptz")
    .addColumn("finished_at", "timestamptz")
    .execute();
  await db.schema.createIndex("tasks_owner_created_idx").on("tasks").columns(["owner_id", "created_at"]).execute();
  await db.schema.createIndex("tasks_status_idx").on("tasks").columns(["status", "updated_at"]).execute();
  await sql`create unique index tasks_idempotency_idx on tasks (owner_id, idempotency_key) where idempotency_key is not null`.execute(db);

  await db.schema
    .createTable("task_logs")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("task_id", "uuid", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("level", "text", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("task_logs_task_idx").on("task_logs").columns(["task_id", "id"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("task_logs").execute();
  await db.schema.dropTable("tasks").execute();
}
