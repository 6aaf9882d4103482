import type { PruneStep } from "@meridian/service-kit";

export const RETENTION_LOCK = "meridian.auth.retention";

/**
 * Refresh tokens expired or revoked more than `retentionDays` ago. A rotated token is kept until it expires:
 * presenting it again is how reuse is detected. Once gone, a presented token is refused as unknown all the same.
 */
export function refreshTokensStep(retentionDays: number): PruneStep {
  return {
    name: "refresh_tokens",
    async run(client, batchSize) {
      const { rowCount } = await client.query(
        `delete from refresh_tokens where id in (
           select id from refresh_tokens
           where expires_at < now() - make_interval(days => $1) or revoked_at < now() - make_interval(days => $1)
           limit $2 for update skip locked)`,
        [retentionDays, batchSize],
      );
      return rowCount ?? 0;
    },
  };
}

/** Sign-in counters whose last failure is older than the reset window and that hold no lock: they count for nothing. */
export function loginThrottleStep(resetSeconds: number): PruneStep {
  return {
    name: "login_throttle",
    async run(client, batchSize) {
      const { rowCount } = await client.query(
        `delete from login_throttle where key in (
           select key from login_throttle
           where last_failure_at < now() - make_interval(secs => $1) and (locked_until is null or locked_until < now())
           limit $2 for update skip locked)`,
        [resetSeconds, batchSize],
      );
      return rowCount ?? 0;
    },
  };
}
