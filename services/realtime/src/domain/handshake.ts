import type { NatsConnection } from "@nats-io/transport-node";
import { jwtVerify } from "jose";
import { MeridianError, Roles, Scopes, Subjects, type Principal, type Role, type Scope } from "@meridian/contracts";
import { requestJson, type RevokedSessions, type SigningKeyCache } from "@meridian/service-kit";

export interface Credentials {
  token?: unknown;
  apiKey?: unknown;
}

export interface Session {
  principal: Principal;
  /** Epoch ms when the access token expires; API keys have none. */
  expiresAt?: number;
}

/**
 * The same checks as the gateway: ES256 only, issuer, audience, expiry, key by kid from auth, and
 * the session not revoked. API keys are verified by auth.
 */
export async function authenticate(
  credentials: Credentials,
  deps: { nc: NatsConnection; keys: SigningKeyCache; revoked: RevokedSessions; issuer: string; audience: string; timeoutMs: number },
): Promise<Session> {
  if (typeof credentials.apiKey === "string" && credentials.apiKey) {
    const principal = await requestJson<Principal>(deps.nc, Subjects.auth.apiKeyVerify, { key: credentials.apiKey }, { timeoutMs: deps.timeoutMs });
    return { principal };
  }
  if (typeof credentials.token !== "string" || !credentials.token) throw new MeridianError("UNAUTHENTICATED", "Authentication required");
  let payload;
  try {
    ({ payload } = await jwtVerify(credentials.token, (header) => deps.keys.keyFor(header.kid), {
      algorithms: ["ES256"],
      issuer: deps.issuer,
      audience: deps.audience,
      clockTolerance: 5,
    }));
  } catch (err) {
    if (err instanceof MeridianError && err.code === "SERVICE_UNAVAILABLE") throw err;
    const expired = (err as { code?: string }).code === "ERR_JWT_EXPIRED";
    throw new MeridianError("INVALID_TOKEN", expired ? "Token has expired" : "Invalid token");
  }
  const sid = typeof payload.sid === "string" ? payload.sid : undefined;
  if (!payload.sub || !sid || typeof payload.username !== "string") throw new MeridianError("INVALID_TOKEN", "Token is missing claims");
  if (await deps.revoked.isRevoked(sid)) throw new MeridianError("TOKEN_REVOKED", "Token has been revoked");
  const roles = (Array.isArray(payload.roles) ? payload.roles : []).filter((r): r is Role => Roles.includes(r as Role));
  const scopes = (typeof payload.scope === "string" ? payload.scope.split(" ") : []).filter((s): s is Scope => Scopes.includes(s as Scope));
  return {
    principal: { kind: "user", sub: payload.sub, username: payload.username, roles, scopes, sid },
    ...(payload.exp ? { expiresAt: payload.exp * 1000 } : {}),
  };
}
