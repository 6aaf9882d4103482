import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { jwtVerify } from "jose";
import { ACCESS_TOKEN_TYP, MAX_API_KEY_LENGTH, MeridianError, Roles, Scopes, Subjects, type Principal, type Role, type Scope } from "@meridian/contracts";
import { requestJson } from "./client.js";
import type { Logger } from "./logger.js";
import { RevocationWatch } from "./revocation-watch.js";
import { SigningKeyCache } from "./signing-keys.js";

/** A caller as established from a credential: the principal and, for an access token, when it expires (epoch ms). */
export interface VerifiedCredential {
  principal: Principal;
  expiresAt?: number;
}

export interface CredentialVerifierOptions {
  nc: NatsConnection;
  keys: SigningKeyCache;
  revocations: RevocationWatch;
  issuer: string;
  audience: string;
  timeoutMs: number;
  /** How long auth's answer for an API key is reused; revocations still stop a cached key at once. */
  apiKeyCacheMs?: number;
  apiKeyCacheMax?: number;
}

const MAX_TOKEN_LENGTH = 8192;
const CLOCK_TOLERANCE_S = 5;
const UNAVAILABLE = new Set(["SERVICE_UNAVAILABLE", "TIMEOUT"]);
/** The cache key of an API key: its digest, so the secret itself is not kept. */
const apiKeyId = (key: string) => createHash("sha256").update(key).digest("base64url");

/**
 * The one mapping from a credential to a principal, for every service that meets callers (gateway, realtime).
 * Access tokens (RFC 9068): ES256 only, header `typ: at+jwt`, `iss`, `aud`, `sub`, `exp` and `iat` required,
 * key by `kid` from auth, session not revoked. API keys: auth says whose key it is; the revocation watch stops a
 * cached key as soon as its entry arrives. Unreachable auth is 503/504, never a 401.
 */
export class CredentialVerifier {
  private readonly apiKeyCache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly opts: CredentialVerifierOptions) {}

  /** The verifier as the gateway and realtime run it: signing keys from auth, revocations from the KV watch. */
  static async start(
    nc: NatsConnection,
    logger: Logger,
    settings: { JETSTREAM_REPLICAS: number; NATS_REQUEST_TIMEOUT_MS: number; JWT_ISSUER: string; JWT_AUDIENCE: string; API_KEY_CACHE_MS?: number },
  ): Promise<{ verifier: CredentialVerifier; revocations: RevocationWatch }> {
    const revocations = await RevocationWatch.start(nc, logger, settings.JETSTREAM_REPLICAS);
    const verifier = new CredentialVerifier({
      nc,
      keys: new SigningKeyCache(nc, settings.NATS_REQUEST_TIMEOUT_MS),
      revocations,
      issuer: settings.JWT_ISSUER,
      audience: settings.JWT_AUDIENCE,
      timeoutMs: settings.NATS_REQUEST_TIMEOUT_MS,
      ...(settings.API_KEY_CACHE_MS !== undefined ? { apiKeyCacheMs: settings.API_KEY_CACHE_MS } : {}),
    });
    return { verifier, revocations };
  }

  async verifyAccessToken(token: string): Promise<VerifiedCredential> {
    if (!token) throw new MeridianError("UNAUTHENTICATED", "Authentication required");
    if (token.length > MAX_TOKEN_LENGTH) throw new MeridianError("INVALID_TOKEN", "Invalid token");
    let payload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.opts.keys.keyFor(header.kid), {
        algorithms: ["ES256"],
        typ: ACCESS_TOKEN_TYP,
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        requiredClaims: ["sub", "exp", "iat"],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof MeridianError && UNAVAILABLE.has(err.code)) throw err;
      const expired = (err as { code?: string }).code === "ERR_JWT_EXPIRED";
      throw new MeridianError("INVALID_TOKEN", expired ? "Token has expired" : "Invalid token");
    }
    const { sub, sid, username, iat, exp } = payload as Record<string, unknown>;
    if (typeof sub !== "string" || typeof sid !== "string" || !sid || typeof username !== "string") {
      throw new MeridianError("INVALID_TOKEN", "Token is missing claims");
    }
    if ((iat as number) > Date.now() / 1000 + CLOCK_TOLERANCE_S) throw new MeridianError("INVALID_TOKEN", "Invalid token");
    if (this.opts.revocations.sessionRevoked(sid)) throw new MeridianError("TOKEN_REVOKED", "Token has been revoked");
    const roles = (Array.isArray(payload.roles) ? payload.roles : []).filter((r): r is Role => Roles.includes(r as Role));
    const scopes = (typeof payload.scope === "string" ? payload.scope.split(" ") : []).filter((s): s is Scope => Scopes.includes(s as Scope));
    return { principal: { kind: "user", sub, username, roles, scopes, sid }, expiresAt: (exp as number) * 1000 };
  }

  /** Whether auth's answer for this key is still held (so verifying it asks nobody): a known-good key. */
  hasCachedApiKey(key: string): boolean {
    return (this.apiKeyCache.get(apiKeyId(key))?.until ?? 0) > Date.now();
  }

  async verifyApiKey(key: string): Promise<VerifiedCredential> {
    if (!key) throw new MeridianError("UNAUTHENTICATED", "Authentication required");
    if (key.length > MAX_API_KEY_LENGTH) throw new MeridianError("INVALID_TOKEN", "Invalid API key");
    const id = apiKeyId(key);
    const hit = this.apiKeyCache.get(id);
    if (hit && hit.until > Date.now()) return { principal: this.notRevoked(hit.principal, () => this.apiKeyCache.delete(id)) };
    if (hit) this.apiKeyCache.delete(id);
    const principal = await requestJson<Principal>(this.opts.nc, Subjects.auth.apiKeyVerify, { key }, { timeoutMs: this.opts.timeoutMs });
    this.notRevoked(principal, () => undefined);
    const cacheMs = this.opts.apiKeyCacheMs ?? 0;
    if (cacheMs > 0) {
      if (this.apiKeyCache.size >= (this.opts.apiKeyCacheMax ?? 10_000)) this.apiKeyCache.delete(this.apiKeyCache.keys().next().value as string);
      this.apiKeyCache.set(id, { principal, until: Date.now() + cacheMs });
    }
    return { principal };
  }

  /** A session or API key revoked since it was verified (or revoked while auth's answer was on its way). */
  isRevoked(principal: Principal): boolean {
    if (principal.keyId !== undefined) return this.opts.revocations.apiKeyRevoked(principal.keyId);
    return principal.sid !== undefined && this.opts.revocations.sessionRevoked(principal.sid);
  }

  private notRevoked(principal: Principal, forget: () => void): Principal {
    if (!this.isRevoked(principal)) return principal;
    forget();
    throw principal.keyId !== undefined
      ? new MeridianError("TOKEN_REVOKED", "API key has been revoked")
      : new MeridianError("TOKEN_REVOKED", "Token has been revoked");
  }
}
