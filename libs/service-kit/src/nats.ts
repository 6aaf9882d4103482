import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "./logger.js";

export type { NatsConnection } from "@nats-io/transport-node";

export interface NatsOptions {
  url: string;
  name: string;
  logger: Logger;
  /** Path of a `.creds` file: connect as that NATS user (see nats-auth.ts and the contracts' permission matrix). */
  creds?: string | undefined;
  /** The user's private reply subjects (`natsInboxPrefix(user)`): the only inboxes its permissions let it read. */
  inboxPrefix?: string;
}

/** Connect with endless reconnects and log every status change; the first connect must succeed. */
/**
 * `nats://user:password@host:port` (comma-separated for a cluster): nats.js takes credentials as options,
 * not in the URL, so they are lifted out here and the servers listed without them.
 */
export function natsServers(url: string): { servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url.split(",").map((raw) => {
    const s = raw.trim();
    const m = /^([a-z]+:\/\/)?([^@/]*)@(.*)$/i.exec(s);
    if (!m) return s;
    const [userPart, passPart] = m[2]!.split(":");
    user ??= decodeURIComponent(userPart ?? "");
    if (passPart !== undefined) pass ??= decodeURIComponent(passPart);
    return `${m[1] ?? ""}${m[3]}`;
  });
  return { servers, ...(user ? { user } : {}), ...(pass !== undefined ? { pass } : {}) };
}

export async function connectNats({ url, name, logger, creds, inboxPrefix }: NatsOptions): Promise<NatsConnection> {
  const nc = await connect({
    ...natsServers(url),
    ...(creds ? { authenticator: credsAuthenticator(readFileSync(creds)) } : {}),
    ...(inboxPrefix ? { inboxPrefix } : {}),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A server that is not up yet is waited for (with the reconnect backoff), never a reason to exit.
    waitOnFirstConnect: true,
    // A stack trace captured for every request and publish in case it fails costs more CPU than the request.
    noAsyncTraces: true,
  });
  logger.info("nats connected", { server: nc.getServer() });
  void (async () => {
    for await (const status of nc.status()) {
      const level = status.type === "error" || status.type === "disconnect" ? "warn" : "debug";
      logger.log(level, "nats status", { status: status.type });
    }
  })().catch(() => undefined);
  return nc;
}
