import { agentNatsUser, agentWorkerPermissions, MeridianError, type Principal, type WorkerCredentials } from "@meridian/contracts";
import { mintUserCreds } from "@meridian/service-kit";
import { findAgent } from "../store/agent.store.js";
import { requireModify, requireScope } from "./access.js";
import type { AgentRegistryDeps } from "./deps.js";

/**
 * NATS credentials for the workers of one sdk agent, for its owner or an admin: signed with the account's
 * signing key, they publish only the agent's own worker subjects and read only its own inbox. Nothing is
 * stored: they expire, and a deleted agent's id is never reused, so the executor refuses its old workers.
 */
export async function issueWorkerCredentials(deps: AgentRegistryDeps, principal: Principal, name: string): Promise<WorkerCredentials> {
  requireScope(principal, "agents:write");
  const agent = await findAgent(deps.db, name);
  requireModify(principal, agent, name);
  if (agent.runtime !== "sdk") throw new MeridianError("CONFLICT", `Agent '${name}' has the ${agent.runtime} runtime; only sdk agents have workers`);
  if (!deps.workerCredentials) throw new MeridianError("SERVICE_UNAVAILABLE", "Worker credentials are not enabled on this deployment (no NATS account signing key)");
  const { issuer, ttlS } = deps.workerCredentials;
  const permissions = agentWorkerPermissions(agent.id);
  const expiresAt = new Date(Date.now() + ttlS * 1000);
  const { creds, publicKey } = mintUserCreds(issuer, agentNatsUser(agent.id), permissions, expiresAt);
  deps.logger.info("worker credentials issued", { agent: agent.name, agent_id: agent.id, nats_user: publicKey, expires_at: expiresAt.toISOString(), by: principal.sub });
  return {
    agent_id: agent.id,
    agent_name: agent.name,
    nats_user: publicKey,
    creds,
    inbox_prefix: permissions.inboxPrefix,
    publish: [...permissions.publish],
    subscribe: [...permissions.subscribe],
    expires_at: expiresAt.toISOString(),
  };
}
