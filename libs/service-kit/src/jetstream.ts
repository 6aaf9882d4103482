import { JetStreamApiError, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import type { Logger } from "./logger.js";

export type { JetStreamClient, JetStreamManager, JsMsg, Consumer } from "@nats-io/jetstream";
export { jetstream, jetstreamManager, StorageType, RetentionPolicy, AckPolicy, DeliverPolicy } from "@nats-io/jetstream";

const STREAM_NAME_IN_USE = 10058;

/**
 * Create the stream, or bring an existing one to this config; safe for every replica at every start.
 * Settings the server cannot change in place (storage, retention) must match an existing stream.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  streamConfig: Partial<StreamConfig> & { name: string },
  logger: Logger,
  replicas = 1,
): Promise<void> {
  const config = { ...streamConfig, num_replicas: replicas };
  try {
    await jsm.streams.add(config);
    logger.info("stream ready", { stream: config.name });
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE)) throw err;
    const { name, storage: _storage, retention: _retention, ...changeable } = config;
    await jsm.streams.update(name, changeable);
    logger.info("stream updated", { stream: name });
  }
}
