import { isAdmin, MeridianError, type AccountDeleted, type AdminUserView, type DeleteMeRequest, type Principal, type SessionsEnded } from "@meridian/contracts";
import { revokeUserApiKeys } from "../store/api-key.store.js";
import { chargeAttempt, clearAttempts } from "../store/login-throttle.store.js";
import { revokeUserFamilies } from "../store/refresh-token.store.js";
import { deleteUserKeepingAnAdmin, findUserById, isLastAdmin, updateUser } from "../store/user.store.js";
import { toUserView } from "./accounts.js";
import type { AuthDeps } from "./deps.js";

/** What the other services hold of a user: the registry their agents, the executor their tasks. */
export interface OwnedResources {
  /** Queued and running tasks of the owner cancelled (`OWNER_DELETED`); answers how many. */
  cancelTasks(ownerId: string): Promise<number>;
  /** Every agent of the owner deleted through the registry's delete path (its tasks are cancelled by the executor). */
  deleteAgents(ownerId: string): Promise<number>;
}

function requireAdmin(principal: Principal) {
  if (!isAdmin(principal)) throw new MeridianError("FORBIDDEN", "Only admins manage users");
}

export async function getUser(deps: AuthDeps, principal: Principal, id: string): Promise<AdminUserView> {
  requireAdmin(principal);
  const user = await findUserById(deps.db, id);
  if (!user) throw new MeridianError("NOT_FOUND", "User not found");
  return { ...toUserView(user), disabled: user.disabled };
}

/** Ends every session of the user at once: refresh tokens revoked, and each session written to the revocation bucket. */
async function endAllSessions(deps: AuthDeps, userId: string, reason: string): Promise<number> {
  const families = await revokeUserFamilies(deps.db, userId, reason);
  await Promise.all(families.map((f) => deps.revokedSessions.revoke(f)));
  return families.length;
}

export async function logoutAll(deps: AuthDeps, principal: Principal): Promise<SessionsEnded> {
  const ended = await endAllSessions(deps, principal.sub, "logout-all");
  // A session whose refresh tokens were all revoked already still has a live access token: end it too.
  if (principal.sid) await deps.revokedSessions.revoke(principal.sid);
  deps.logger.info("user logged out everywhere", { user_id: principal.sub, sessions_ended: ended });
  return { revoked: true, sessions_ended: ended };
}

/**
 * Order matters: the account is disabled and every credential revoked first (nothing new can start), then the
 * executor cancels the owner's queued and running tasks (`OWNER_DELETED`), the registry deletes their agents, and
 * the row goes last (refresh tokens and API keys with it). Should a peer be unavailable, the call fails with the
 * account left disabled, and deleting again finishes the job. Finished tasks stay for the executor's retention.
 */
async function removeAccount(deps: AuthDeps, userId: string, by: string): Promise<AccountDeleted> {
  const user = await updateUser(deps.db, userId, { disabled: true });
  if (!user) throw new MeridianError("NOT_FOUND", "User not found");
  const sessions_ended = await endAllSessions(deps, userId, "deleted");
  const keys = await revokeUserApiKeys(deps.db, userId);
  await Promise.all(keys.map((k) => deps.apiKeyRevocations.revoke(k)));
  const tasks_cancelled = await deps.owned.cancelTasks(userId);
  const agents_deleted = await deps.owned.deleteAgents(userId);
  const outcome = await deleteUserKeepingAnAdmin(deps.db, userId);
  if (outcome === "last_admin") {
    await updateUser(deps.db, userId, { disabled: false });
    throw new MeridianError("CONFLICT", "The last admin cannot be deleted");
  }
  deps.logger.info("account deleted", { user_id: userId, by, sessions_ended, api_keys_revoked: keys.length, tasks_cancelled, agents_deleted });
  return { deleted: true, agents_deleted, tasks_cancelled, sessions_ended, api_keys_revoked: keys.length };
}

export async function deleteUser(deps: AuthDeps, principal: Principal, id: string): Promise<AccountDeleted> {
  requireAdmin(principal);
  if (id === principal.sub) throw new MeridianError("CONFLICT", "Admins cannot delete themselves here; use DELETE /api/v1/auth/me");
  const user = await findUserById(deps.db, id);
  if (!user) throw new MeridianError("NOT_FOUND", "User not found");
  if (await isLastAdmin(deps.db, user)) throw new MeridianError("CONFLICT", "The last admin cannot be deleted");
  return removeAccount(deps, id, principal.sub);
}

/** The password confirms it, and counts against the same sign-in lock, so a stolen token cannot guess it freely. */
export async function deleteMe(deps: AuthDeps, principal: Principal, req: DeleteMeRequest): Promise<AccountDeleted> {
  if (principal.kind !== "user") throw new MeridianError("FORBIDDEN", "Only a signed-in session can delete the account");
  const user = await findUserById(deps.db, principal.sub);
  if (!user || user.disabled) throw new MeridianError("NOT_FOUND", "User not found");
  const key = `user:${user.id}`;
  const charge = await chargeAttempt(deps.db, key, deps.loginThrottle);
  if (!charge.allowed) {
    throw new MeridianError("LOGIN_LOCKED", `Too many failed attempts; try again in ${charge.retryAfterS} s`, { retry_after: charge.retryAfterS });
  }
  if (!(await deps.hasher.verify(user.password_hash, req.password))) throw new MeridianError("INVALID_CREDENTIALS", "Invalid credentials");
  await clearAttempts(deps.db, key);
  if (await isLastAdmin(deps.db, user)) throw new MeridianError("CONFLICT", "The last admin cannot be deleted");
  return removeAccount(deps, user.id, user.id);
}
