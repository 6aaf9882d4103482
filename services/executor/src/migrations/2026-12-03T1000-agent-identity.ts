import { sql, type Kysely } from "kysely";

/**
 * Tasks are bound to the agent's immutable id (and the version they were submitted with), never to a
 * reusable name. Tasks left queued or running by the name-bound engine cannot be matched to an id:
 * they are cancelled, with their events still in the outbox.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update tasks set status = 'cancelled', finished_at = now(), updated_at = now(), lease_owner = null, lease_expires_at = null,
    error = '{"code":"AGENT_UNAVAILABLE","message":"Cancelled by the upgrade to agent ids"}'::jsonb
    where status in ('queued', 'running')`.execute(db);
  await db.schema
    .alterTable("tasks")
    .addColumn("agent_id", "uuid", (c) => c.notNull().defaultTo(sql`'00000000-0000-0000-0000-000000000000'::uuid`))
    .addColumn("agent_version", "integer", (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.alterTable("tasks").alterColumn("agent_id", (c) => c.dropDefault()).execute();
  await sql`create index tasks_agent_active_idx on tasks (agent_id) where status in ('queued', 'running')`.execute(db);
  await sql`create index tasks_lease_idx on tasks (lease_expires_at) where status = 'running'`.execute(db);
  await sql`create index tasks_unpublished_idx on tasks (updated_at) where status = 'queued' and published_attempt <= attempts`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists tasks_unpublished_idx`.execute(db);
  await sql`drop index if exists tasks_lease_idx`.execute(db);
  await sql`drop index if exists tasks_agent_active_idx`.execute(db);
  await db.schema.alterTable("tasks").dropColumn("agent_version").dropColumn("agent_id").execute();
}
