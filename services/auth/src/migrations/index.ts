import type { Migration } from "@meridian/service-kit";
import * as usersAndSessions from "./2026-11-23T1000-users-and-sessions.js";
import * as refreshTokenRetention from "./2026-12-03T1900-refresh-token-retention.js";
import * as loginThrottle from "./2026-12-03T2200-login-throttle.js";

/** Every migration of the auth schema, by name; names sort in the order they apply. */
export const migrations: Record<string, Migration> = {
  "2026-11-23T1000-users-and-sessions": usersAndSessions,
  "2026-12-03T1900-refresh-token-retention": refreshTokenRetention,
  "2026-12-03T2200-login-throttle": loginThrottle,
};

export const SCHEMA = "auth";
