import { expect } from "chai";
import { NatsServicePermissions, Subjects } from "@meridian/contracts";
import { routes } from "../src/routes/route-table.js";

describe("gateway: its NATS user", () => {
  const allowed = new Set(NatsServicePermissions.gateway.publish);

  it("when a route forwards to a subject, then the gateway's NATS user may publish on it", () => {
    const missing = routes.map((r) => r.subject).filter((s) => !allowed.has(s));
    expect(missing, "routes whose subject is not in libs/contracts/src/nats-permissions.ts").to.deep.equal([]);
  });

  it("when reading its permissions, then it cannot reach full agent definitions nor the queue, and only its own inbox", () => {
    expect(allowed.has(Subjects.agents.getById)).to.equal(false);
    expect([...allowed].some((s) => s.startsWith("meridian.queue.") || s.startsWith("meridian.worker.") || s === ">" || s.endsWith("$JS.API.>"))).to.equal(false);
    expect(NatsServicePermissions.gateway.subscribe).to.deep.equal(["_INBOX.gateway.>"]);
  });
});
