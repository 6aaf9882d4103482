import type { RequestHandler } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";
import { RedisStore, type RedisReply } from "rate-limit-redis";
import type { RedisClientType } from "redis";
import { MeridianError } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";
import type { GatewayConfig } from "../config.js";
import { envelope } from "../errors.js";

export const RateLimitClasses = ["default", "auth"] as const;
export type RateLimitClass = (typeof RateLimitClasses)[number];

/**
 * One limiter (and one Redis store) per class, shared by every gateway replica through Redis.
 * Keyed by client IP: limits apply before authentication, so floods never reach token checks.
 */
export function rateLimiters(
  config: Readonly<GatewayConfig>,
  redis: RedisClientType,
  logger: Logger,
): Record<RateLimitClass, RequestHandler> {
  const limits: Record<RateLimitClass, number> = { default: config.RATE_LIMIT_DEFAULT_MAX, auth: config.RATE_LIMIT_AUTH_MAX };
  const build = (cls: RateLimitClass): RequestHandler =>
    rateLimit({
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      limit: limits[cls],
      standardHeaders: "draft-8",
      legacyHeaders: true,
      identifier: cls,
      keyGenerator: (req) => ipKeyGenerator(req.ip ?? "unknown"),
      // Availability over strictness: if Redis is down, requests pass and readiness reports it.
      passOnStoreError: true,
      store: new RedisStore({
        prefix: `${config.RATE_LIMIT_PREFIX}${cls}:`,
        sendCommand: (...args: string[]) => redis.sendCommand(args) as Promise<RedisReply>,
      }),
      logger: {
        error: (...args: unknown[]) => logger.warn("rate limit store error", { error: String(args[0]) }),
        warn: (...args: unknown[]) => logger.warn("rate limit warning", { detail: String(args[0]) }),
      },
      handler: (req, res) => {
        const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + config.RATE_LIMIT_WINDOW_MS) - Date.now()) / 1000));
        res.setHeader("Retry-After", String(retryAfter));
        const err = new MeridianError("RATE_LIMITED", `Too many requests; retry in ${retryAfter} s`);
        res.status(429).json({ ...envelope(err, res.locals.correlationId as string), retry_after: retryAfter });
      },
    });
  return { default: build("default"), auth: build("auth") };
}
