import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import type { RedisClientType } from "redis";
import { MeridianError, type Principal } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";
import type { GatewayConfig } from "../config.js";
import { envelope } from "../errors.js";

export const RateLimitClasses = ["login", "register", "refresh", "reads", "writes", "tasks", "export"] as const;
export type RateLimitClass = (typeof RateLimitClasses)[number];
/** What a route declares: a class, or `default`, which is `reads` for GET and `writes` for the other methods. */
export type RouteRateLimit = RateLimitClass | "default";

export const rateLimitClassOf = (declared: RouteRateLimit, method: string): RateLimitClass =>
  declared !== "default" ? declared : method === "get" ? "reads" : "writes";

/** Units one request takes from its class budget (a batch of N tasks takes N). */
export type RateLimitCost = (req: Request) => number;

export interface LimiterOptions {
  cost?: RateLimitCost;
  /** Without the shared store, answer 503 instead of passing (login, register, API key creation). */
  failClosed?: boolean;
}

export interface Limiter {
  (options?: LimiterOptions): RequestHandler;
}

/**
 * Whose budget a request spends: the user or API key once authenticated (so users behind one NAT do not share
 * one, and a user rotating addresses keeps theirs), else the client IP as `trust proxy` derives it from
 * X-Forwarded-For through TRUST_PROXY hops only; IPv6 clients by their /64, which one subscriber usually holds.
 */
export function rateLimitKey(req: Request, res: Response): string {
  const principal = res.locals.principal as Principal | undefined;
  if (principal) return principal.kind === "api_key" && principal.keyId ? `key:${principal.keyId}` : `user:${principal.sub}`;
  return clientIpKey(req);
}

/** The client's address as budgets key it: `req.ip` (TRUST_PROXY hops only), IPv6 by its /64. */
export const clientIpKey = (req: Request) => `ip:${ipKeyGenerator(req.ip ?? "unknown", 64)}`;

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

/** Whether one more unit would fit in the window, charging nothing. Returns { used, window ms left, fits }. */
const PEEK_SCRIPT = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return {0, 0, 1} end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used < tonumber(ARGV[1]) then return {used, ttl, 1} end
return {used, ttl, 0}`;
const PEEK_SCRIPT_SHA = createHash("sha1").update(PEEK_SCRIPT).digest("hex");

export type Outcome = [used: number, ttlMs: number, allowed: number];

/** The same fixed window in this process's memory: the fallback while Redis is unreachable. */
export class MemoryWindows {
  private readonly windows = new Map<string, { used: number; resetAt: number }>();

  consume(key: string, cost: number, limit: number, windowMs: number): Outcome {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (this.windows.size >= 100_000) this.sweep(now);
      w = { used: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    if (w.used + cost > limit) return [w.used, w.resetAt - now, 0];
    w.used += cost;
    return [w.used, w.resetAt - now, 1];
  }

  /** Whether one more unit would fit, charging nothing. */
  peek(key: string, limit: number): Outcome {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now) return [0, 0, 1];
    return [w.used, w.resetAt - now, w.used < limit ? 1 : 0];
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
    if (this.windows.size >= 100_000) this.windows.clear();
  }
}

export interface ClassLimit {
  max: number;
  windowMs: number;
}

export function classLimits(config: Readonly<GatewayConfig>): Record<RateLimitClass, ClassLimit> {
  return {
    login: { max: config.RATE_LIMIT_LOGIN_MAX, windowMs: config.RATE_LIMIT_LOGIN_WINDOW_MS },
    register: { max: config.RATE_LIMIT_REGISTER_MAX, windowMs: config.RATE_LIMIT_REGISTER_WINDOW_MS },
    refresh: { max: config.RATE_LIMIT_REFRESH_MAX, windowMs: config.RATE_LIMIT_REFRESH_WINDOW_MS },
    reads: { max: config.RATE_LIMIT_READS_MAX, windowMs: config.RATE_LIMIT_READS_WINDOW_MS },
    writes: { max: config.RATE_LIMIT_WRITES_MAX, windowMs: config.RATE_LIMIT_WRITES_WINDOW_MS },
    tasks: { max: config.RATE_LIMIT_TASKS_MAX, windowMs: config.RATE_LIMIT_TASKS_WINDOW_MS },
    export: { max: config.RATE_LIMIT_EXPORT_MAX, windowMs: config.RATE_LIMIT_EXPORT_WINDOW_MS },
  };
}

/**
 * Fixed windows shared by every gateway replica through Redis (one script call, bounded by
 * REDIS_COMMAND_TIMEOUT_MS, rejecting when Redis is away or slow), and the same windows in this process's memory
 * for the callers to fall back on; `unavailable` logs that fallback at most every 10 s.
 */
export interface WindowStore {
  shared(key: string, cost: number, limit: number, windowMs: number): Promise<Outcome>;
  peekShared(key: string, limit: number): Promise<Outcome>;
  readonly local: MemoryWindows;
  unavailable(err: unknown): void;
}

export function windowStore(config: Readonly<GatewayConfig>, redis: RedisClientType, logger: Logger): WindowStore {
  const timeoutMs = config.REDIS_COMMAND_TIMEOUT_MS;
  let lastWarning = 0;
  const unavailable = (err: unknown) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn("rate limit store unavailable: limiting per process in memory, refusing login/register/API keys", { error: String((err as Error)?.message ?? err) });
  };
  const withTimeout = <T>(command: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([command, late]).finally(() => clearTimeout(timer));
  };
  const send = <T>(args: string[]) => withTimeout(redis.sendCommand<T>(args, { timeout: timeoutMs }));
  const script = async <T>(source: string, sha: string, args: string[]): Promise<T> => {
    if (!redis.isReady) throw new Error("redis is not connected");
    try {
      return await send<T>(["EVALSHA", sha, "1", ...args]);
    } catch (err) {
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      return await send<T>(["EVAL", source, "1", ...args]);
    }
  };
  return {
    shared: (key, cost, limit, windowMs) => script<Outcome>(SCRIPT, SCRIPT_SHA, [key, String(cost), String(limit), String(windowMs)]),
    peekShared: (key, limit) => script<Outcome>(PEEK_SCRIPT, PEEK_SCRIPT_SHA, [key, String(limit)]),
    local: new MemoryWindows(),
    unavailable,
  };
}

/** The 429: `Retry-After` and the envelope with `retry_after`. */
export function tooManyRequests(res: Response, ttlMs: number, detail: (retryAfter: number) => string): void {
  const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
  res.setHeader("Retry-After", String(retryAfter));
  const err = new MeridianError("RATE_LIMITED", detail(retryAfter));
  res.status(429).json({ ...envelope(err, res.locals.correlationId as string), retry_after: retryAfter });
}

/**
 * One budget per class and identity (see rateLimitKey) in the shared window store. Without Redis, ordinary
 * routes are limited per process in memory and pass with a warning; `failClosed` routes answer 503. Headers as
 * express-rate-limit writes them: `RateLimit` / `RateLimit-Policy` (IETF draft 8) and `X-RateLimit-*`.
 */
export function rateLimiters(config: Readonly<GatewayConfig>, store: WindowStore): Record<RateLimitClass, Limiter> {
  const limits = classLimits(config);
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

  const build =
    (cls: RateLimitClass): Limiter =>
    (options = {}) => {
      const { max: limit, windowMs } = limits[cls];
      const windowSeconds = Math.ceil(windowMs / 1000);
      const prefix = `${config.RATE_LIMIT_PREFIX}${cls}:`;
      return (req, res, next) => {
        const client = rateLimitKey(req, res);
        const units = options.cost ? options.cost(req) : 1;
        const answer = ([used, ttl, allowed]: Outcome) => {
          const remaining = Math.max(0, limit - used);
          const resetSeconds = Math.max(0, Math.ceil(ttl / 1000));
          res.setHeader("X-RateLimit-Limit", String(limit));
          res.setHeader("X-RateLimit-Remaining", String(remaining));
          res.setHeader("X-RateLimit-Reset", String(Math.ceil((Date.now() + ttl) / 1000)));
          res.append("RateLimit", `"${cls}"; r=${remaining}; t=${resetSeconds}`);
          res.append("RateLimit-Policy", `"${cls}"; q=${limit}; w=${windowSeconds}; pk=:${partitionKey(client)}:`);
          if (allowed) return next();
          tooManyRequests(res, ttl, (retryAfter) => (units > 1 ? `${units} tasks asked, ${remaining} left; retry in ${retryAfter} s` : `Too many requests; retry in ${retryAfter} s`));
        };
        store.shared(prefix + client, units, limit, windowMs).then(answer, (err: unknown) => {
          store.unavailable(err);
          if (options.failClosed) {
            res.setHeader("Retry-After", "5");
            return next(new MeridianError("SERVICE_UNAVAILABLE", "Rate limiting is unavailable; try again shortly"));
          }
          answer(store.local.consume(prefix + client, units, limit, windowMs));
        });
      };
    };
  return Object.fromEntries(RateLimitClasses.map((cls) => [cls, build(cls)])) as Record<RateLimitClass, Limiter>;
}
