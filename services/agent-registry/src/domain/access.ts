import {
  canModifyAgent,
  canSeeAgent,
  hasScope,
  isAdmin,
  MeridianError,
  REDACTED,
  scopesForRoles,
  type AgentAccessFacts,
  type AgentView,
  type HttpAgentConfig,
  type Principal,
  type Scope,
} from "@meridian/contracts";

/** The registry's refusals, built on the one access module in contracts. */

export function requireScope(principal: Principal, scope: Scope): void {
  if (hasScope(principal, scope)) return;
  const why = principal.kind === "api_key" && scopesForRoles(principal.roles).includes(scope) ? "This API key lacks" : "Your role lacks";
  throw new MeridianError("FORBIDDEN", `${why} the '${scope}' scope`);
}

export function notFound(name: string): MeridianError {
  return new MeridianError("NOT_FOUND", `No agent named '${name}'`);
}

/** For get: an agent the caller may not see does not exist for it. */
export function requireSee<A extends AgentAccessFacts>(principal: Principal, agent: A | undefined, name: string): asserts agent is A {
  if (!agent || !canSeeAgent(principal, agent)) throw notFound(name);
}

/** For update and delete: NOT_FOUND for an agent the caller cannot see, FORBIDDEN for one it can see but not change. */
export function requireModify<A extends AgentAccessFacts>(principal: Principal, agent: A | undefined, name: string): asserts agent is A {
  requireSee(principal, agent, name);
  if (!canModifyAgent(principal, agent)) throw new MeridianError("FORBIDDEN", "Only the agent's owner or an admin may change it");
}

/** For get-by-id: services acting with an admin principal only. */
export function requireAdmin(principal: Principal): void {
  if (!isAdmin(principal)) throw new MeridianError("FORBIDDEN", "Only an admin may look agents up by id");
}

/** `scheme://user:password@host…` → `scheme://[redacted]@host…`; the last `@` before the path ends the user-info. */
const URL_USER_INFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/?#]*@/;

export function redactUrl(url: string): string {
  return url.replace(URL_USER_INFO, `$1${REDACTED}@`);
}

/**
 * An http agent's header values and url user-info may be credentials: only its owner and admins read them;
 * others get the header keys and the url without its user-info.
 */
export function redactFor(principal: Principal, view: AgentView): AgentView {
  if (view.runtime !== "http" || canModifyAgent(principal, view)) return view;
  const config = view.config as HttpAgentConfig;
  const url = redactUrl(config.url);
  if (!config.headers && url === config.url) return view;
  const shown: HttpAgentConfig = { ...config, url };
  if (config.headers) shown.headers = Object.fromEntries(Object.keys(config.headers).map((key) => [key, REDACTED]));
  return { ...view, config: shown };
}

/** The visibility filter for listing: admins see everything, others their own agents and the enabled public ones. */
export function visibleTo(principal: Principal): string | undefined {
  return isAdmin(principal) ? undefined : principal.sub;
}
