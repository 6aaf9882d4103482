import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { createDatabase, createLogger, startPruner } from "@meridian/service-kit";
import { testInfra, uniqueName } from "@meridian/service-kit/testing";
import { loadAuthConfig } from "../src/config.js";
import { SCHEMA } from "../src/migrations/index.js";
import { loginThrottleStep, refreshTokensStep, RETENTION_LOCK } from "../src/retention/token-retention.js";
import { migrate } from "../src/service.js";
import { authTestEnv } from "./auth-context.js";

const logger = createLogger({ service: "test", silent: true });

describe("auth: retention of expired and revoked refresh tokens", function () {
  this.timeout(20_000);
  const database = createDatabase<unknown>({ connectionString: testInfra.databaseUrl, schema: SCHEMA, poolSize: 2, logger });

  before(() => migrate(loadAuthConfig(authTestEnv()), logger));
  after(() => database.close());

  it("when tokens expired or were revoked longer ago than the retention, then they go; live, rotated-unexpired and recent ones stay", async () => {
    const name = uniqueName("ret").replace(/-/g, "_");
    const { rows } = await database.pool.query<{ id: string }>(
      `insert into users (username, email, password_hash) values ($1, $2, 'x') returning id`,
      [name, `${name}@example.com`],
    );
    const userId = rows[0]!.id;
    const token = async (expiresDays: number, revokedDaysAgo?: number, rotated = false) => {
      const id = randomUUID();
      await database.pool.query(
        `insert into refresh_tokens (id, family_id, user_id, token_hash, expires_at, revoked_at, rotated_at)
         values ($1, $2, $3, $4, now() + make_interval(days => $5), case when $6::int is null then null else now() - make_interval(days => $6::int) end,
                 case when $7 then now() end)`,
        [id, randomUUID(), userId, `hash-${id}`, expiresDays, revokedDaysAgo ?? null, rotated],
      );
      return id;
    };
    const expiredLongAgo = await token(-10);
    const revokedLongAgo = await token(5, 8);
    const live = await token(14);
    const rotatedUnexpired = await token(3, undefined, true);
    const expiredRecently = await token(-1);
    const revokedRecently = await token(5, 1);

    const pruner = startPruner({ pool: database.pool, lockKey: RETENTION_LOCK, intervalMs: 86_400_000, steps: [refreshTokensStep(7)], logger, batchSize: 1 });
    try {
      const removed = await pruner.runOnce();
      expect(removed!.refresh_tokens).to.be.at.least(2);
    } finally {
      await pruner.stop();
    }
    const { rows: left } = await database.pool.query<{ id: string }>(`select id from refresh_tokens where user_id = $1`, [userId]);
    expect(left.map((r) => r.id).sort()).to.deep.equal([live, rotatedUnexpired, expiredRecently, revokedRecently].sort());
    expect(left.map((r) => r.id)).to.not.include.members([expiredLongAgo, revokedLongAgo]);
  });

  it("when sign-in counters are older than the reset window and hold no lock, then they go; recent or locked ones stay", async () => {
    const prefix = `test:${uniqueName("thr")}:`;
    const counter = async (name: string, lastFailureSecondsAgo: number, lockedForSeconds?: number) => {
      await database.pool.query(
        `insert into login_throttle (key, failures, last_failure_at, locked_until)
         values ($1, 3, now() - make_interval(secs => $2), case when $3::int is null then null else now() + make_interval(secs => $3::int) end)`,
        [prefix + name, lastFailureSecondsAgo, lockedForSeconds ?? null],
      );
    };
    await counter("stale", 7200);
    await counter("recent", 60);
    await counter("stale-but-locked", 7200, 600);
    const pruner = startPruner({ pool: database.pool, lockKey: RETENTION_LOCK, intervalMs: 86_400_000, steps: [loginThrottleStep(3600)], logger });
    try {
      await pruner.runOnce();
    } finally {
      await pruner.stop();
    }
    const { rows } = await database.pool.query<{ key: string }>(`select key from login_throttle where key like $1 order by key`, [`${prefix}%`]);
    expect(rows.map((r) => r.key.slice(prefix.length))).to.deep.equal(["recent", "stale-but-locked"]);
  });
});
