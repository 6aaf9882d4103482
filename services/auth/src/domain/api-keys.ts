import {
  MeridianError,
  scopesForRoles,
  type ApiKeyCreated,
  type ApiKeyCreateRequest,
  type ApiKeyView,
  type Principal,
} from "@meridian/contracts";
import { findApiKeyByHash, insertApiKey, listApiKeys, revokeApiKey } from "../store/api-key.store.js";
import type { ApiKey } from "../store/tables.js";
import type { AuthDeps } from "./deps.js";
import { newApiKey, sha256 } from "./secrets.js";

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    created_at: new Date(key.created_at).toISOString(),
    expires_at: iso(key.expires_at),
    last_used_at: iso(key.last_used_at),
  };
}

/** A key never grants more than its owner's roles allow, and only a signed-in user mints one. */
export async function createApiKey(deps: AuthDeps, principal: Principal, req: ApiKeyCreateRequest): Promise<ApiKeyCreated> {
  if (principal.kind !== "user") throw new MeridianError("FORBIDDEN", "API keys cannot create API keys");
  const allowed = scopesForRoles(principal.roles);
  const scopes = req.scopes ?? allowed.filter((s) => s !== "admin");
  const excess = scopes.filter((s) => !allowed.includes(s));
  if (excess.length) throw new MeridianError("FORBIDDEN", `Your role cannot grant: ${excess.join(", ")}`);
  const secret = newApiKey();
  const expires_at = req.expires_in_days ? new Date(Date.now() + req.expires_in_days * 86_400_000) : null;
  const row = await insertApiKey(deps.db, {
    id: secret.id,
    user_id: principal.sub,
    name: req.name,
    key_hash: sha256(secret.key),
    prefix: secret.prefix,
    scopes,
    expires_at,
  });
  deps.logger.info("api key created", { key_id: row.id, user_id: principal.sub });
  return { ...toView(row), key: secret.key };
}

export async function listKeys(deps: AuthDeps, principal: Principal): Promise<{ items: ApiKeyView[] }> {
  return { items: (await listApiKeys(deps.db, principal.sub)).map(toView) };
}

export async function revokeKey(deps: AuthDeps, principal: Principal, id: string): Promise<{ revoked: true }> {
  if (!(await revokeApiKey(deps.db, id, principal.sub))) throw new MeridianError("NOT_FOUND", "API key not found");
  await deps.apiKeyRevocations.revoke(id);
  deps.logger.info("api key revoked", { key_id: id, user_id: principal.sub });
  return { revoked: true };
}

/** For the edge: which principal a presented key stands for; the use is recorded with the next batch. */
export async function verifyKey(deps: AuthDeps, key: string): Promise<Principal> {
  const found = key.startsWith("mk_") ? await findApiKeyByHash(deps.db, sha256(key)) : undefined;
  if (!found) throw new MeridianError("INVALID_TOKEN", "Invalid API key");
  if (found.key.revoked_at || found.user.disabled) throw new MeridianError("TOKEN_REVOKED", "API key has been revoked");
  if (found.expired) throw new MeridianError("INVALID_TOKEN", "API key has expired");
  deps.keyUses.record(found.key.id);
  const ownerScopes = scopesForRoles(found.user.roles);
  return {
    kind: "api_key",
    sub: found.user.id,
    username: found.user.username,
    roles: found.user.roles,
    scopes: found.key.scopes.filter((s) => ownerScopes.includes(s)),
    keyId: found.key.id,
  };
}
