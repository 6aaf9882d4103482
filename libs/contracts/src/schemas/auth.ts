import Joi from "joi";
import { Roles, Scopes, type Role, type Scope } from "../roles.js";
import { uuid } from "./common.js";

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{2,31}$/;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

const username = Joi.string().trim().lowercase().pattern(USERNAME_PATTERN).messages({
  "string.pattern.base": "'username' must be 3-32 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
});
const email = Joi.string().trim().lowercase().email({ tlds: { allow: false } }).max(254);
const password = Joi.string().min(PASSWORD_MIN).max(PASSWORD_MAX);
const refreshToken = Joi.string().min(20).max(200);

export interface RegisterRequest { username: string; email: string; password: string }
export const RegisterRequestSchema = Joi.object<RegisterRequest>({
  username: username.required(),
  email: email.required(),
  password: password.required(),
}).example({ username: "ada", email: "ada@example.com", password: "correct-Horse-battery-9" });

export interface LoginRequest { username?: string; email?: string; password: string }
export const LoginRequestSchema = Joi.object<LoginRequest>({
  username: Joi.string().trim().lowercase().max(254),
  email: Joi.string().trim().lowercase().max(254),
  password: Joi.string().max(PASSWORD_MAX).required(),
})
  .xor("username", "email")
  .example({ username: "ada", password: "correct-Horse-battery-9" });

export interface RefreshRequest { refresh_token: string }
export const RefreshRequestSchema = Joi.object<RefreshRequest>({ refresh_token: refreshToken.required() })
  .example({ refresh_token: "rt_3b1f0c1e-6a8f-4c55-9d59-0d3a9f0b6f11.kX9c…" });

export interface UserView {
  id: string;
  username: string;
  email: string;
  roles: Role[];
  created_at: string;
}
export const UserViewSchema = Joi.object<UserView>({
  id: uuid.required(),
  username: Joi.string().required(),
  email: Joi.string().required(),
  roles: Joi.array().items(Joi.string().valid(...Roles)).required(),
  created_at: Joi.string().isoDate().required(),
}).example({ id: "5c1b0f6e-2f44-4c1e-9d0a-3f3a1d9e8b21", username: "ada", email: "ada@example.com", roles: ["user"], created_at: "2026-11-23T10:00:00.000Z" });

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_expires_in: number;
}
export const TokenPairSchema = Joi.object<TokenPair>({
  access_token: Joi.string().required(),
  refresh_token: Joi.string().required(),
  token_type: Joi.string().valid("Bearer").required(),
  expires_in: Joi.number().integer().required().description("Seconds until the access token expires"),
  refresh_expires_in: Joi.number().integer().required(),
}).example({ access_token: "eyJhbGciOiJFUzI1NiIsImtpZCI6…", refresh_token: "rt_…", token_type: "Bearer", expires_in: 900, refresh_expires_in: 1209600 });

export interface SigningKeys { keys: Array<Record<string, unknown> & { kid: string }>; issuer: string; audience: string }

export interface ApiKeyCreateRequest { name: string; scopes?: Scope[]; expires_in_days?: number }
export const ApiKeyCreateRequestSchema = Joi.object<ApiKeyCreateRequest>({
  name: Joi.string().trim().min(1).max(64).required(),
  scopes: Joi.array().items(Joi.string().valid(...Scopes)).unique().min(1),
  expires_in_days: Joi.number().integer().min(1).max(365),
}).example({ name: "ci-bot", scopes: ["agents:read", "tasks:write"], expires_in_days: 90 });

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}
export const ApiKeyViewSchema = Joi.object<ApiKeyView>({
  id: uuid.required(),
  name: Joi.string().required(),
  prefix: Joi.string().required().description("First characters of the key, to recognise it"),
  scopes: Joi.array().items(Joi.string().valid(...Scopes)).required(),
  created_at: Joi.string().isoDate().required(),
  expires_at: Joi.string().isoDate().allow(null).required(),
  last_used_at: Joi.string().isoDate().allow(null).required(),
}).example({ id: "0b5e8f7a-8c1d-4a55-b0a4-6a2f1e0c9d11", name: "ci-bot", prefix: "mk_0b5e8f7a", scopes: ["agents:read"], created_at: "2026-11-23T10:00:00.000Z", expires_at: null, last_used_at: null });

export type ApiKeyCreated = ApiKeyView & { key: string };
export const ApiKeyCreatedSchema = (ApiKeyViewSchema as Joi.ObjectSchema).keys({
  key: Joi.string().required().description("The secret key; shown once and never again"),
});

export interface ApiKeyIdRequest { id: string }
export const ApiKeyIdRequestSchema = Joi.object<ApiKeyIdRequest>({ id: uuid.required() });

export interface ApiKeyVerifyRequest { key: string }
/** Longer keys are refused as invalid before anyone is asked about them. */
export const MAX_API_KEY_LENGTH = 200;
export const ApiKeyVerifyRequestSchema = Joi.object<ApiKeyVerifyRequest>({ key: Joi.string().max(MAX_API_KEY_LENGTH).required() });

/** The JOSE header `typ` of an access token (RFC 9068); verifiers accept no other type as an access token. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/** A user as an admin manages it. */
export interface AdminUserView extends UserView { disabled: boolean }
export const AdminUserViewSchema = (UserViewSchema as Joi.ObjectSchema).keys({ disabled: Joi.boolean().required() });
export interface AdminUserList { items: AdminUserView[]; total: number; limit: number; offset: number }
export const AdminUserListSchema = Joi.object<AdminUserList>({ items: Joi.array().items(AdminUserViewSchema), total: Joi.number(), limit: Joi.number(), offset: Joi.number() });

/** PostgreSQL text cannot hold NUL: refuse it as bad input rather than fail the query. */
const noNul = (value: string) => {
  if (value.includes(String.fromCharCode(0))) throw new Error("must not contain NUL");
  return value;
};

export interface ListUsersRequest { q?: string; limit: number; offset: number }
export const ListUsersRequestSchema = Joi.object<ListUsersRequest>({
  q: Joi.string().trim().min(1).max(100).custom(noNul).description("Text in the username or email"),
  limit: Joi.number().integer().min(1).max(100).default(20),
  offset: Joi.number().integer().min(0).max(100_000).default(0),
});

/** Roles replace the user's; `disabled: true` also ends every session and API key of the user at once. */
export interface UpdateUserRequest { id: string; roles?: Role[]; disabled?: boolean }
export type UpdateUserBody = Omit<UpdateUserRequest, "id">;
const userChanges = {
  roles: Joi.array().items(Joi.string().valid(...Roles)).min(1).unique(),
  disabled: Joi.boolean(),
};
export const UpdateUserBodySchema = Joi.object<UpdateUserBody>(userChanges).or("roles", "disabled").example({ disabled: true });
export const UpdateUserRequestSchema = Joi.object<UpdateUserRequest>({ id: uuid.required(), ...userChanges }).or("roles", "disabled");
export const UserIdParamsSchema = Joi.object<{ id: string }>({ id: uuid.required() });

// Account deletion and sessions (accounts branch).

/** A user deletes their own account: the password confirms it. */
export interface DeleteMeRequest { password: string }
export const DeleteMeRequestSchema = Joi.object<DeleteMeRequest>({ password: Joi.string().max(PASSWORD_MAX).required() })
  .example({ password: "correct-Horse-battery-9" });

export interface UserIdRequest { id: string }
export const UserIdRequestSchema = Joi.object<UserIdRequest>({ id: uuid.required() });

/** What deleting an account removed; tasks: queued and running ones cancelled with `OWNER_DELETED`. */
export interface AccountDeleted { deleted: true; agents_deleted: number; tasks_cancelled: number; sessions_ended: number; api_keys_revoked: number }
export const AccountDeletedSchema = Joi.object<AccountDeleted>({
  deleted: Joi.boolean().valid(true).required(),
  agents_deleted: Joi.number().integer().required(),
  tasks_cancelled: Joi.number().integer().required(),
  sessions_ended: Joi.number().integer().required(),
  api_keys_revoked: Joi.number().integer().required(),
}).example({ deleted: true, agents_deleted: 2, tasks_cancelled: 5, sessions_ended: 1, api_keys_revoked: 1 });

export interface SessionsEnded { revoked: true; sessions_ended: number }
export const SessionsEndedSchema = Joi.object<SessionsEnded>({ revoked: Joi.boolean().valid(true).required(), sessions_ended: Joi.number().integer().required() })
  .example({ revoked: true, sessions_ended: 3 });

/** Services ask the registry and the executor to clear one owner's agents and tasks. */
export interface OwnerIdRequest { owner_id: string }
export const OwnerIdRequestSchema = Joi.object<OwnerIdRequest>({ owner_id: uuid.required() });
/** `more`: the owner still has agents (the registry deletes a bounded number per request); ask again. */
export interface OwnedAgentsDeleted { deleted: number; more: boolean }
export interface OwnedTasksCancelled { cancelled: number }

/** The error code of tasks cancelled because their owner's account was deleted. */
export const OWNER_DELETED = "OWNER_DELETED";
