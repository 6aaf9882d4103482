import { createHash } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import type { RedisClientType } from "redis";
import { MeridianError } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";
import type { GatewayConfig } from "../config.js";
import { envelope } from "../errors.js";

export const RateLimitClasses = ["default", "auth", "tasks", "export"] as const;
export type RateLimitClass = (typeof RateLimitClasses)[number];

/** Units one request takes from its class budget (a batch of N tasks takes N). */
export type RateLimitCost = (req: Request) => number;

/**
 * Fixed window, atomic: a request that fits is charged `cost` units, one that does not is refused uncharged,
 * so a batch larger than what is left gets 429 and leaves the rest of the budget usable.
 * Returns { used, window ms left, allowed }.
 */
const SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then used = 0 end
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then return {used, ttl, 0} end
used = redis.call('INCRBY', KEYS[1], cost)
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {used, ttl, 1}`;
const SCRIPT_SHA = createHash("sha1").update(SCRIPT).digest("hex");

export interface Limiter {
  (cost?: RateLimitCost): RequestHandler;
}

/**
 * One budget per class and client IP, shared by every gateway replica through Redis (one script call per
 * request). Limits apply before authentication, so floods never reach token checks. Headers as
 * express-rate-limit writes them: `RateLimit` / `RateLimit-Policy` (IETF draft 8) and `X-RateLimit-*`.
 */
export function rateLimiters(config: Readonly<GatewayConfig>, redis: RedisClientType, logger: Logger): Record<RateLimitClass, Limiter> {
  const limits: Record<RateLimitClass, number> = {
    default: config.RATE_LIMIT_DEFAULT_MAX,
    auth: config.RATE_LIMIT_AUTH_MAX,
    tasks: config.RATE_LIMIT_TASKS_MAX,
    export: config.RATE_LIMIT_EXPORT_MAX,
  };
  const windowMs = config.RATE_LIMIT_WINDOW_MS;
  const windowSeconds = Math.ceil(windowMs / 1000);
  const partitionKeys = new Map<string, string>();
  const partitionKey = (key: string) => {
    let pk = partitionKeys.get(key);
    if (pk === undefined) {
      if (partitionKeys.size > 10_000) partitionKeys.clear();
      pk = Buffer.from(createHash("sha256").update(key).digest("hex").slice(0, 12)).toString("base64");
      partitionKeys.set(key, pk);
    }
    return pk;
  };

  const run = async (key: string, cost: number, limit: number): Promise<[number, number, number]> => {
    const args = [key, String(cost), String(limit), String(windowMs)];
    try {
      return (await redis.sendCommand(["EVALSHA", SCRIPT_SHA, "1", ...args])) as [number, number, number];
    } catch (err) {
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      return (await redis.sendCommand(["EVAL", SCRIPT, "1", ...args])) as [number, number, number];
    }
  };

  const build =
    (cls: RateLimitClass): Limiter =>
    (cost) => {
      const limit = limits[cls];
      const prefix = `${config.RATE_LIMIT_PREFIX}${cls}:`;
      return (req, res, next) => {
        const client = ipKeyGenerator(req.ip ?? "unknown");
        const units = cost ? cost(req) : 1;
        run(prefix + client, units, limit).then(
          ([used, ttl, allowed]) => {
            const remaining = Math.max(0, limit - used);
            const resetSeconds = Math.max(0, Math.ceil(ttl / 1000));
            res.setHeader("X-RateLimit-Limit", String(limit));
            res.setHeader("X-RateLimit-Remaining", String(remaining));
            res.setHeader("X-RateLimit-Reset", String(Math.ceil((Date.now() + ttl) / 1000)));
            res.append("RateLimit", `"${cls}"; r=${remaining}; t=${resetSeconds}`);
            res.append("RateLimit-Policy", `"${cls}"; q=${limit}; w=${windowSeconds}; pk=:${partitionKey(client)}:`);
            if (allowed) return next();
            const retryAfter = Math.max(1, resetSeconds);
            res.setHeader("Retry-After", String(retryAfter));
            const detail = units > 1 ? `${units} tasks asked, ${remaining} left; retry in ${retryAfter} s` : `Too many requests; retry in ${retryAfter} s`;
            const err = new MeridianError("RATE_LIMITED", detail);
            res.status(429).json({ ...envelope(err, res.locals.correlationId as string), retry_after: retryAfter });
          },
          // Availability over strictness: if Redis is down, requests pass and readiness reports it.
          (err: unknown) => {
            logger.warn("rate limit store error", { error: String(err) });
            next();
          },
        );
      };
    };
  return { default: build("default"), auth: build("auth"), tasks: build("tasks"), export: build("export") };
}
