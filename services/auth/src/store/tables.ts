import type { NullableTimestamp, Timestamp } from "@meridian/service-kit";
import type { Generated, Selectable } from "kysely";
import type { Role, Scope } from "@meridian/contracts";


export interface UsersTable {
  id: Generated<string>;
  username: string;
  email: string;
  password_hash: string;
  roles: Role[];
  disabled: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  rotated_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  key_hash: string;
  prefix: string;
  scopes: Scope[];
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface LoginThrottleTable {
  key: string;
  failures: number;
  last_failure_at: Timestamp;
  locked_until: NullableTimestamp;
}

export interface AuthDatabase {
  users: UsersTable;
  login_throttle: LoginThrottleTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
}

export type User = Selectable<UsersTable>;
export type RefreshToken = Selectable<RefreshTokensTable>;
export type ApiKey = Selectable<ApiKeysTable>;
