import { sql, type Kysely } from "kysely";
import type { Role } from "@meridian/contracts";
import type { AuthDatabase, User } from "./tables.js";

export type AuthDb = Kysely<AuthDatabase>;

export async function insertUser(
  db: AuthDb,
  user: { username: string; email: string; password_hash: string; roles: Role[] },
): Promise<User> {
  return db.insertInto("users").values(user).returningAll().executeTakeFirstOrThrow();
}

export async function findUserById(db: AuthDb, id: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function findUserByLogin(db: AuthDb, login: { username?: string; email?: string }): Promise<User | undefined> {
  const query = db.selectFrom("users").selectAll();
  if (login.username !== undefined) return query.where("username", "=", login.username).executeTakeFirst();
  if (login.email !== undefined) return query.where("email", "=", login.email).executeTakeFirst();
  return undefined;
}

export async function listUsers(db: AuthDb, filter: { q?: string; limit: number; offset: number }): Promise<{ rows: User[]; total: number }> {
  let query = db.selectFrom("users");
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb("username", "ilike", like), eb("email", "ilike", like)]));
  }
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy("created_at").orderBy("id").limit(filter.limit).offset(filter.offset).execute(),
    query.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export async function updateUser(db: AuthDb, id: string, changes: { roles?: Role[]; disabled?: boolean }): Promise<User | undefined> {
  return db
    .updateTable("users")
    .set({ ...changes, updated_at: new Date() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
}

async function otherEnabledAdmins(db: AuthDb, id: string): Promise<number> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("id", "<>", id)
    .where("disabled", "=", false)
    .where(sql<boolean>`'admin' = any(roles)`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** True when this user is an admin and no other enabled admin exists (a pre-check; the delete checks again under a lock). */
export async function isLastAdmin(db: AuthDb, user: Pick<User, "id" | "roles">): Promise<boolean> {
  return user.roles.includes("admin") && (await otherEnabledAdmins(db, user.id)) === 0;
}

/**
 * Delete a user (its tokens and keys go with it by cascade), refusing when it would leave no enabled admin.
 * Serialised by an advisory lock, so two admins deleting each other at once cannot both succeed.
 */
export async function deleteUserKeepingAnAdmin(db: AuthDb, id: string): Promise<"deleted" | "not_found" | "last_admin"> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('meridian.auth.admins'))`.execute(trx);
    const user = await trx.selectFrom("users").select(["id", "roles"]).where("id", "=", id).executeTakeFirst();
    if (!user) return "not_found";
    if (await isLastAdmin(trx, user)) return "last_admin";
    await trx.deleteFrom("login_throttle").where("key", "=", `user:${id}`).execute();
    await trx.deleteFrom("users").where("id", "=", id).execute();
    return "deleted";
  });
}
