export const Roles = ["admin", "user", "agent", "readonly"] as const;
export type Role = (typeof Roles)[number];

/** Scopes an API key may carry; a user's role bounds the scopes it can grant. */
export const Scopes = [
  "profile:read",
  "api-keys:read",
  "api-keys:write",
  "agents:read",
  "agents:write",
  "tasks:read",
  "tasks:write",
  "admin",
] as const;
export type Scope = (typeof Scopes)[number];

const READ_SCOPES: Scope[] = ["profile:read", "api-keys:read", "agents:read", "tasks:read"];
const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: Scopes,
  user: Scopes.filter((s) => s !== "admin"),
  agent: ["profile:read", "agents:read", "tasks:read", "tasks:write"],
  readonly: READ_SCOPES,
};

export function scopesForRoles(roles: readonly Role[]): Scope[] {
  return [...new Set(roles.flatMap((r) => ROLE_SCOPES[r] ?? []))];
}

/** Who is calling, as the gateway established it. Travels in the `Meridian-Principal` header. */
export interface Principal {
  kind: "user" | "api_key";
  sub: string;
  username: string;
  roles: Role[];
  scopes: Scope[];
  /** Session (refresh-token family) of an access token. */
  sid?: string;
  /** API key id when kind is api_key. */
  keyId?: string;
}
