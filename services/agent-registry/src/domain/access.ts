import { MeridianError, REDACTED, scopesForRoles, type AgentView, type HttpAgentConfig, type Principal, type Scope } from "@meridian/contracts";

/** Who may do what with agents. Pure: a principal and an agent's owner and state in, a decision out. */

export interface AgentAccessFacts {
  owner_id: string;
  enabled: boolean;
}

/** An API key acts for an admin only when it carries the admin scope as well. */
export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes("admin") && (principal.kind === "user" || principal.scopes.includes("admin"));
}

/** The role must grant the scope; an API key must also have been given it. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  if (!scopesForRoles(principal.roles).includes(scope)) return false;
  return principal.kind !== "api_key" || principal.scopes.includes(scope);
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (hasScope(principal, scope)) return;
  const why = principal.kind === "api_key" && scopesForRoles(principal.roles).includes(scope) ? "This API key lacks" : "Your role lacks";
  throw new MeridianError("FORBIDDEN", `${why} the '${scope}' scope`);
}

/** Disabled agents are visible only to their owner and admins. */
export function canSee(principal: Principal, agent: AgentAccessFacts): boolean {
  return agent.enabled || agent.owner_id === principal.sub || isAdmin(principal);
}

export function canModify(principal: Principal, agent: AgentAccessFacts): boolean {
  return agent.owner_id === principal.sub || isAdmin(principal);
}

/** For update and delete: NOT_FOUND for an agent the caller cannot see, FORBIDDEN for one it can see but not change. */
export function requireModify(principal: Principal, agent: AgentAccessFacts | undefined, name: string): asserts agent is AgentAccessFacts {
  if (!agent || !canSee(principal, agent)) throw notFound(name);
  if (!canModify(principal, agent)) throw new MeridianError("FORBIDDEN", "Only the agent's owner or an admin may change it");
}

/** An http agent's header values may be credentials: only its owner and admins read them, others get the keys alone. */
export function redactFor(principal: Principal, view: AgentView): AgentView {
  if (view.runtime !== "http" || canModify(principal, view)) return view;
  const config = view.config as HttpAgentConfig;
  if (!config.headers) return view;
  const headers = Object.fromEntries(Object.keys(config.headers).map((key) => [key, REDACTED]));
  return { ...view, config: { ...config, headers } };
}

export function notFound(name: string): MeridianError {
  return new MeridianError("NOT_FOUND", `No agent named '${name}'`);
}

/** The owner filter for listing: admins see everything, others enabled agents plus their own. */
export function visibleToOwner(principal: Principal): string | undefined {
  return isAdmin(principal) ? undefined : principal.sub;
}
