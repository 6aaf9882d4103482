import { sql } from "kysely";
import type { AuthDb } from "./user.store.js";

export interface ThrottlePolicy {
  /** Failures before the first lock. */
  freeAttempts: number;
  /** The first lock; each further failure doubles it, up to `lockMaxS`. */
  lockBaseS: number;
  lockMaxS: number;
  /** A failure this long after the previous one starts the count again. */
  resetS: number;
}

export type Charge = { allowed: true } | { allowed: false; retryAfterS: number };

/**
 * Counts one sign-in attempt as a failure *before* its password is checked, in one upsert under the row's lock,
 * so concurrent guesses on several replicas cannot slip past the count; a success deletes the row afterwards.
 * A locked key is not counted again (the lock does not grow while it holds): the attempt is refused.
 */
export async function chargeAttempt(db: AuthDb, key: string, p: ThrottlePolicy): Promise<Charge> {
  const next = sql`case when t.last_failure_at < now() - make_interval(secs => ${p.resetS}) then 1 else t.failures + 1 end`;
  const lockFor = (failures: ReturnType<typeof sql>) =>
    sql`case when ${failures} >= ${p.freeAttempts}
      then now() + make_interval(secs => least(${p.lockBaseS}::float8 * power(2, ${failures} - ${p.freeAttempts}), ${p.lockMaxS}::float8)) end`;
  const locked = sql`t.locked_until > now()`;
  const { rows } = await sql<{ counted: boolean; lock_s: number | null }>`
    insert into login_throttle as t (key, failures, last_failure_at, locked_until)
    values (${key}, 1, now(), ${lockFor(sql`1`)})
    on conflict (key) do update set
      failures = case when ${locked} then t.failures else ${next} end,
      last_failure_at = case when ${locked} then t.last_failure_at else now() end,
      locked_until = case when ${locked} then t.locked_until else ${lockFor(next)} end
    returning t.last_failure_at = now() as counted, extract(epoch from t.locked_until - now())::float8 as lock_s`.execute(db);
  const row = rows[0]!;
  if (row.counted) return { allowed: true };
  return { allowed: false, retryAfterS: Math.max(1, Math.ceil(row.lock_s ?? 1)) };
}

/** A correct password: the count starts again. */
export async function clearAttempts(db: AuthDb, key: string): Promise<void> {
  await db.deleteFrom("login_throttle").where("key", "=", key).execute();
}
