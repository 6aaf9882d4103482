import type { Kysely } from "kysely";
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
