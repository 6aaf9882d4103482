import { isAdmin, MeridianError, type AdminUserList, type AdminUserView, type ListUsersRequest, type Principal, type UpdateUserRequest } from "@meridian/contracts";
import { revokeUserApiKeys } from "../store/api-key.store.js";
import { revokeUserFamilies } from "../store/refresh-token.store.js";
import type { User } from "../store/tables.js";
import { listUsers as listUserRows, updateUser } from "../store/user.store.js";
import { toUserView } from "./accounts.js";
import type { AuthDeps } from "./deps.js";

const toAdminView = (user: User): AdminUserView => ({ ...toUserView(user), disabled: user.disabled });

function requireAdmin(principal: Principal) {
  if (!isAdmin(principal)) throw new MeridianError("FORBIDDEN", "Only admins manage users");
}

export async function listUsers(deps: AuthDeps, principal: Principal, req: ListUsersRequest): Promise<AdminUserList> {
  requireAdmin(principal);
  const { rows, total } = await listUserRows(deps.db, req);
  return { items: rows.map(toAdminView), total, limit: req.limit, offset: req.offset };
}

/**
 * Change a user's roles or disable them. Disabling ends every session and revokes every API key at once:
 * each is written to the revocation bucket before the reply, so every gateway refuses them within its
 * watch's latency. An admin cannot lock themselves out.
 */
export async function changeUser(deps: AuthDeps, principal: Principal, req: UpdateUserRequest): Promise<AdminUserView> {
  requireAdmin(principal);
  if (req.id === principal.sub && (req.disabled === true || (req.roles && !req.roles.includes("admin")))) {
    throw new MeridianError("CONFLICT", "Admins cannot disable themselves or drop their own admin role");
  }
  const user = await updateUser(deps.db, req.id, { ...(req.roles ? { roles: req.roles } : {}), ...(req.disabled !== undefined ? { disabled: req.disabled } : {}) });
  if (!user) throw new MeridianError("NOT_FOUND", "User not found");
  if (req.disabled === true || req.roles) {
    // New roles apply to new tokens; the old sessions carry the old roles, so they end too.
    const families = await revokeUserFamilies(deps.db, user.id, req.disabled ? "disabled" : "roles changed");
    await Promise.all(families.map((f) => deps.revokedSessions.revoke(f)));
    if (req.disabled) {
      const keys = await revokeUserApiKeys(deps.db, user.id);
      await Promise.all(keys.map((k) => deps.apiKeyRevocations.revoke(k)));
    }
    deps.logger.info("user changed by an admin", { user_id: user.id, by: principal.sub, disabled: user.disabled, roles: user.roles, sessions_ended: families.length });
  }
  return toAdminView(user);
}
