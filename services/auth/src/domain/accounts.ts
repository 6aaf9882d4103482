import { MeridianError, type Principal, type RegisterRequest, type Role, type UserView } from "@meridian/contracts";
import { uniqueViolation } from "@meridian/service-kit";
import { findUserById, findUserByLogin, insertUser } from "../store/user.store.js";
import type { User } from "../store/tables.js";
import type { AuthDeps } from "./deps.js";
import { passwordProblems } from "./password.js";

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    roles: user.roles,
    created_at: new Date(user.created_at).toISOString(),
  };
}

async function createUser(deps: AuthDeps, req: RegisterRequest, roles: Role[]): Promise<User> {
  const problems = passwordProblems(req.password, req);
  if (problems.length) throw new MeridianError("WEAK_PASSWORD", "Password does not meet the policy", problems);
  const password_hash = await deps.hasher.hash(req.password);
  try {
    return await insertUser(deps.db, { username: req.username, email: req.email, password_hash, roles });
  } catch (err) {
    const constraint = uniqueViolation(err);
    if (constraint?.includes("username")) throw new MeridianError("USERNAME_TAKEN", "That username is taken");
    if (constraint?.includes("email")) throw new MeridianError("EMAIL_TAKEN", "That email is already registered");
    throw err;
  }
}

/** Self-registration always yields the `user` role; roles are never chosen by the caller. */
export async function register(deps: AuthDeps, req: RegisterRequest): Promise<UserView> {
  const user = await createUser(deps, req, ["user"]);
  deps.logger.info("user registered", { user_id: user.id });
  return toUserView(user);
}

/** The first admin comes from config; an existing account of that name is left as it is. */
export async function ensureAdmin(deps: AuthDeps, admin: RegisterRequest): Promise<void> {
  if (await findUserByLogin(deps.db, { username: admin.username })) return;
  try {
    const user = await createUser(deps, admin, ["admin"]);
    deps.logger.info("admin account created", { user_id: user.id, username: user.username });
  } catch (err) {
    if (err instanceof MeridianError && (err.code === "USERNAME_TAKEN" || err.code === "EMAIL_TAKEN")) return;
    throw err;
  }
}

export async function me(deps: AuthDeps, principal: Principal): Promise<UserView> {
  const user = await findUserById(deps.db, principal.sub);
  if (!user || user.disabled) throw new MeridianError("NOT_FOUND", "User not found");
  return toUserView(user);
}
