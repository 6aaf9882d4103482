import Joi from "joi";
import {
  ApiKeyCreatedSchema,
  ApiKeyCreateRequestSchema,
  ApiKeyViewSchema,
  LoginRequestSchema,
  RefreshRequestSchema,
  RegisterRequestSchema,
  Subjects,
  TokenPairSchema,
  UserViewSchema,
  uuid,
  type ErrorCode,
  type Role,
  type Scope,
  type Subject,
} from "@meridian/contracts";
import type { RateLimitClass } from "../middleware/rate-limit.js";

/**
 * Every route the gateway forwards, declared once: the router and the OpenAPI document are both
 * built from this table, so they cannot drift.
 */
export interface RouteSpec {
  method: "get" | "post" | "patch" | "delete";
  /** Express path; `:param` segments become OpenAPI `{param}`. */
  path: string;
  subject: Subject;
  tag: string;
  summary: string;
  description: string;
  auth: "public" | "required";
  roles?: readonly Role[];
  scope?: Scope;
  rateLimit: RateLimitClass;
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.ObjectSchema;
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: Joi.Schema };
  /** Codes the owning service may answer with, beyond the ones every route can get. */
  errors: ErrorCode[];
}

const revoked = Joi.object({ revoked: Joi.boolean().valid(true).required() }).example({ revoked: true });

export const routes: RouteSpec[] = [
  {
    method: "post",
    path: "/api/v1/auth/register",
    subject: Subjects.auth.register,
    tag: "auth",
    summary: "Register a user",
    description: "Creates an account with the `user` role. The password must be 12-128 characters, mix three character classes and not contain the username or email.",
    auth: "public",
    rateLimit: "auth",
    body: RegisterRequestSchema,
    success: { status: 201, description: "The new user", schema: UserViewSchema },
    errors: ["WEAK_PASSWORD", "USERNAME_TAKEN", "EMAIL_TAKEN"],
  },
  {
    method: "post",
    path: "/api/v1/auth/login",
    subject: Subjects.auth.login,
    tag: "auth",
    summary: "Log in",
    description: "Exchanges a username or email and password for an access token (ES256 JWT) and a single-use refresh token.",
    auth: "public",
    rateLimit: "auth",
    body: LoginRequestSchema,
    success: { status: 200, description: "A token pair", schema: TokenPairSchema },
    errors: ["INVALID_CREDENTIALS"],
  },
  {
    method: "post",
    path: "/api/v1/auth/refresh",
    subject: Subjects.auth.refresh,
    tag: "auth",
    summary: "Rotate a refresh token",
    description: "Returns a new token pair; the presented refresh token stops working. Presenting an already rotated token revokes the whole session.",
    auth: "public",
    rateLimit: "auth",
    body: RefreshRequestSchema,
    success: { status: 200, description: "A new token pair", schema: TokenPairSchema },
    errors: ["INVALID_TOKEN"],
  },
  {
    method: "post",
    path: "/api/v1/auth/logout",
    subject: Subjects.auth.logout,
    tag: "auth",
    summary: "Log out",
    description: "Revokes the session: its refresh tokens and, before they expire, its access tokens.",
    auth: "required",
    rateLimit: "default",
    success: { status: 200, description: "The session is revoked", schema: revoked },
    errors: ["BAD_REQUEST"],
  },
  {
    method: "get",
    path: "/api/v1/auth/me",
    subject: Subjects.auth.me,
    tag: "auth",
    summary: "The current user",
    description: "Answers the account of the access token or API key presented.",
    auth: "required",
    scope: "profile:read",
    rateLimit: "default",
    success: { status: 200, description: "The current user", schema: UserViewSchema },
    errors: ["NOT_FOUND"],
  },
  {
    method: "post",
    path: "/api/v1/auth/api-keys",
    subject: Subjects.auth.apiKeyCreate,
    tag: "api-keys",
    summary: "Create an API key",
    description: "Mints a key for scripts and agents, sent as `X-API-Key`. Its scopes cannot exceed the caller's role. The key is shown once.",
    auth: "required",
    scope: "api-keys:write",
    rateLimit: "default",
    body: ApiKeyCreateRequestSchema,
    success: { status: 201, description: "The key, shown once", schema: ApiKeyCreatedSchema },
    errors: [],
  },
  {
    method: "get",
    path: "/api/v1/auth/api-keys",
    subject: Subjects.auth.apiKeyList,
    tag: "api-keys",
    summary: "List your API keys",
    description: "Active keys of the caller, newest first, without their secrets.",
    auth: "required",
    scope: "api-keys:read",
    rateLimit: "default",
    success: { status: 200, description: "The caller's keys", schema: Joi.object({ items: Joi.array().items(ApiKeyViewSchema) }) },
    errors: [],
  },
  {
    method: "delete",
    path: "/api/v1/auth/api-keys/:id",
    subject: Subjects.auth.apiKeyRevoke,
    tag: "api-keys",
    summary: "Revoke an API key",
    description: "The key stops working (within the gateway's short verification cache).",
    auth: "required",
    scope: "api-keys:write",
    rateLimit: "default",
    params: Joi.object({ id: uuid.required() }),
    success: { status: 200, description: "The key is revoked", schema: revoked },
    errors: ["NOT_FOUND"],
  },
];
