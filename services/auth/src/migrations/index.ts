import type { Migration } from "@meridian/service-kit";
import * as usersAndSessions from "./2026-11-23T1000-users-and-sessions.js";

/** Every migration of the auth schema, by name; names sort in the order they apply. */
export const migrations: Record<string, Migration> = {
  "2026-11-23T1000-users-and-sessions": usersAndSessions,
};

export const SCHEMA = "auth";
