import { Scopes, Subjects, type OwnedAgentsDeleted, type OwnedTasksCancelled, type Principal } from "@meridian/contracts";
import { requestJson, type NatsConnection } from "@meridian/service-kit";
import type { OwnedResources } from "../domain/account-removal.js";

/** Auth asks the registry and the executor as itself (an admin principal of the system). */
export const AUTH_PRINCIPAL: Principal = {
  kind: "user",
  sub: "00000000-0000-4000-8000-0000000a0700",
  username: "system-auth",
  roles: ["admin"],
  scopes: [...Scopes],
};

/** The deleted account's agents and tasks, over NATS request/reply; a peer that does not answer fails the deletion (503/504). */
export function natsOwnedResources(nc: NatsConnection, timeoutMs: number): OwnedResources {
  const ask = <R>(subject: string, ownerId: string) => requestJson<R>(nc, subject, { owner_id: ownerId }, { timeoutMs, principal: AUTH_PRINCIPAL });
  return {
    cancelTasks: async (ownerId) => (await ask<OwnedTasksCancelled>(Subjects.tasks.cancelOwned, ownerId)).cancelled,
    deleteAgents: async (ownerId) => {
      let total = 0;
      for (;;) {
        const page = await ask<OwnedAgentsDeleted>(Subjects.agents.deleteOwned, ownerId);
        total += page.deleted;
        if (!page.more) return total;
      }
    },
  };
}
