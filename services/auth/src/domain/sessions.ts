import { randomUUID } from "node:crypto";
import { MeridianError, type LoginRequest, type Principal, type TokenPair } from "@meridian/contracts";
import { consumeRefreshToken, findRefreshToken, insertRefreshToken, revokeFamily } from "../store/refresh-token.store.js";
import { chargeAttempt, clearAttempts } from "../store/login-throttle.store.js";
import { findUserById, findUserByLogin } from "../store/user.store.js";
import type { User } from "../store/tables.js";
import type { AuthDeps } from "./deps.js";
import { newRefreshToken, sha256 } from "./secrets.js";

/** One session is one refresh-token family: every rotation stays in it, and revoking it ends them all. */
async function issueTokens(deps: AuthDeps, user: User, familyId: string): Promise<TokenPair> {
  const refresh = newRefreshToken();
  await insertRefreshToken(deps.db, {
    id: refresh.id,
    family_id: familyId,
    user_id: user.id,
    token_hash: sha256(refresh.token),
    expires_at: new Date(Date.now() + deps.refreshTtlSeconds * 1000),
  });
  const access = await deps.signer.sign({ userId: user.id, username: user.username, roles: user.roles, sessionId: familyId });
  return {
    access_token: access,
    refresh_token: refresh.token,
    token_type: "Bearer",
    expires_in: deps.signer.ttlSeconds,
    refresh_expires_in: deps.refreshTtlSeconds,
  };
}

async function endSession(deps: AuthDeps, familyId: string, reason: string): Promise<void> {
  await revokeFamily(deps.db, familyId, reason);
  await deps.revokedSessions.revoke(familyId);
}

/**
 * Failed sign-ins are counted per account whatever the client's address (and per login name when there is no
 * such account, so an unknown name answers exactly like a known one): a few are free, then the account is locked
 * for a time that doubles with each failure up to a cap; a success clears the count.
 */
export async function login(deps: AuthDeps, req: LoginRequest): Promise<TokenPair> {
  const user = await findUserByLogin(deps.db, req);
  const key = user ? `user:${user.id}` : `login:${req.username ?? req.email ?? ""}`;
  const charge = await chargeAttempt(deps.db, key, deps.loginThrottle);
  if (!charge.allowed) {
    deps.logger.warn("sign-in refused: account locked", { ...(user ? { user_id: user.id } : { unknown_login: true }), retry_after: charge.retryAfterS });
    throw new MeridianError("LOGIN_LOCKED", `Too many failed sign-ins; try again in ${charge.retryAfterS} s`, { retry_after: charge.retryAfterS });
  }
  if (!user) {
    await deps.hasher.verifyDummy(req.password);
    throw new MeridianError("INVALID_CREDENTIALS", "Invalid credentials");
  }
  if (!(await deps.hasher.verify(user.password_hash, req.password)) || user.disabled) {
    throw new MeridianError("INVALID_CREDENTIALS", "Invalid credentials");
  }
  await clearAttempts(deps.db, key);
  const tokens = await issueTokens(deps, user, randomUUID());
  deps.logger.info("user logged in", { user_id: user.id });
  return tokens;
}

/**
 * Rotation: a refresh token works once. Presenting one that was already rotated means it leaked
 * (or a client replayed it), so the whole family is revoked, including its live access tokens.
 */
export async function refresh(deps: AuthDeps, refreshToken: string): Promise<TokenPair> {
  const hash = sha256(refreshToken);
  const consumed = await consumeRefreshToken(deps.db, hash);
  if (!consumed) {
    const known = await findRefreshToken(deps.db, hash);
    if (known?.rotated_at && !known.revoked_at) {
      await endSession(deps, known.family_id, "reuse");
      deps.logger.warn("refresh token reuse detected; session revoked", { user_id: known.user_id, session_id: known.family_id });
    }
    throw new MeridianError("INVALID_TOKEN", "Refresh token is invalid, expired or revoked");
  }
  const user = await findUserById(deps.db, consumed.user_id);
  if (!user || user.disabled) throw new MeridianError("INVALID_TOKEN", "Refresh token is invalid, expired or revoked");
  return issueTokens(deps, user, consumed.family_id);
}

export async function logout(deps: AuthDeps, principal: Principal): Promise<{ revoked: true }> {
  if (principal.kind !== "user" || !principal.sid) throw new MeridianError("BAD_REQUEST", "Only a session can log out");
  await endSession(deps, principal.sid, "logout");
  deps.logger.info("user logged out", { user_id: principal.sub, session_id: principal.sid });
  return { revoked: true };
}
