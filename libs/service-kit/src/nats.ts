import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "./logger.js";

export type { NatsConnection } from "@nats-io/transport-node";

export interface NatsOptions {
  url: string;
  name: string;
  logger: Logger;
}

/** Connect with endless reconnects and log every status change; the first connect must succeed. */
export async function connectNats({ url, name, logger }: NatsOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A server that is not up yet is waited for (with the reconnect backoff), never a reason to exit.
    waitOnFirstConnect: true,
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
