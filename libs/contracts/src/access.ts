import type { AgentVisibility } from "./schemas/agents.js";
import { scopesForRoles, type Principal, type Scope } from "./roles.js";

/**
 * One answer to "may this principal do X to this object", for every service. Pure: a principal and the
 * object's owner and state in, a decision out.
 */

/** An API key acts for an admin only when it carries the admin scope as well. */
export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes("admin") && (principal.kind === "user" || principal.scopes.includes("admin"));
}

/** The role must grant the scope; an API key must also have been given it. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  if (!scopesForRoles(principal.roles).includes(scope)) return false;
  return principal.kind !== "api_key" || principal.scopes.includes(scope);
}

export interface AgentAccessFacts {
  owner_id: string;
  enabled: boolean;
  visibility: AgentVisibility;
}

export const ownsOrAdmin = (principal: Principal, owner_id: string) => owner_id === principal.sub || isAdmin(principal);

/** Private agents exist only for their owner and admins; public ones for everyone while enabled. */
export function canSeeAgent(principal: Principal, agent: AgentAccessFacts): boolean {
  return ownsOrAdmin(principal, agent.owner_id) || (agent.visibility === "public" && agent.enabled);
}

/** Running an agent spends its owner's slots and (http) reaches its owner's endpoint with the owner's headers. */
export function canRunAgent(principal: Principal, agent: AgentAccessFacts): boolean {
  return canSeeAgent(principal, agent);
}

export function canModifyAgent(principal: Principal, agent: Pick<AgentAccessFacts, "owner_id">): boolean {
  return ownsOrAdmin(principal, agent.owner_id);
}

/** A socket's own user room carries every task event of its owner: the credential must be allowed to read tasks. */
export const canFollowOwnTasks = (principal: Principal) => hasScope(principal, "tasks:read");

/** An agent's room carries every user's task events on that agent: admins only (an API key with the admin scope). */
export const canWatchAgent = (principal: Principal) => isAdmin(principal);
