import { StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { headers as natsHeaders, nanos } from "@nats-io/transport-node";
import { agentEventSubject, Headers, Streams, type AgentEvent, type AgentEventType, type AgentView } from "@meridian/contracts";
import { ensureStream, type Logger } from "@meridian/service-kit";
import {
  agentsWithStaleEvents,
  deleteOutboxEvents,
  insertOutboxEvent,
  isLockNotAvailable,
  lockPendingEvents,
  markOutboxFailure,
  type PendingEvent,
} from "../store/agent-event-outbox.store.js";
import type { AgentDb } from "../store/agent.store.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export const agentEventsStreamConfig = {
  name: Streams.agentEvents.name,
  subjects: [...Streams.agentEvents.subjects],
  storage: StorageType.File,
  max_age: nanos(7 * DAY_MS),
  description: "Changes to the agent registry, one subject per agent",
} satisfies Partial<StreamConfig> & { name: string };

/** Create the stream, or bring an existing one to this config; safe for every replica at every start. */
export const ensureAgentEventsStream = (jsm: JetStreamManager, logger: Logger) => ensureStream(jsm, agentEventsStreamConfig, logger);

/** The message id makes every retried or repeated publish of one change a no-op on the stream. */
export const agentEventMsgId = (type: AgentEventType, agent: Pick<AgentView, "name" | "version">) => `${agent.name}:${agent.version}:${type}`;

/** What a drain of one agent's outbox achieved; `error` is why it stopped early. */
export interface DrainResult {
  published: number;
  error?: Error;
}

export interface AgentEventPublisher {
  /** Keep the change's event inside the change's transaction; nothing reaches the stream before it commits. */
  record(trx: AgentDb, type: AgentEventType, agent: AgentView, correlationId: string): Promise<void>;
  /** After the commit: publish the agent's pending events in version order, each leaving the outbox once confirmed. */
  flush(agentName: string): Promise<DrainResult>;
  /** Publish events left behind (a crash, NATS away); each agent on its own, so one stuck agent holds up no other. */
  republishStale(olderThanMs: number): Promise<number>;
}

/**
 * A transactional outbox. The event is written with the change, so a rolled-back change leaves no event and a
 * committed one always has its event waiting; it is published after the commit and by the republisher for
 * leftovers. `Nats-Msg-Id` makes a second publish of one event (a lost acknowledgement, two publishers) land once.
 */
export function createAgentEventPublisher(deps: { db: AgentDb; js: JetStreamClient; logger: Logger; timeoutMs: number }): AgentEventPublisher {
  const send = async (event: PendingEvent) => {
    const h = natsHeaders();
    if (event.correlation_id) h.set(Headers.correlationId, event.correlation_id);
    await deps.js.publish(agentEventSubject(event.agent_name), event.payload, {
      msgID: event.msg_id,
      headers: h,
      timeout: deps.timeoutMs,
      expect: { streamName: Streams.agentEvents.name },
    });
  };

  /** One agent's events in order; at the first failure it stops (a later version must not overtake), recording why. */
  const drain = (agentName: string, nowait: boolean) =>
    deps.db.transaction().execute(async (trx): Promise<DrainResult> => {
      const published: string[] = [];
      let error: Error | undefined;
      for (const event of await lockPendingEvents(trx, agentName, { nowait })) {
        try {
          await send(event);
          published.push(event.id);
        } catch (err) {
          error = err as Error;
          await markOutboxFailure(trx, event.id, error.message);
          break;
        }
      }
      await deleteOutboxEvents(trx, published);
      return { published: published.length, ...(error ? { error } : {}) };
    });

  return {
    async record(trx, type, agent, correlationId) {
      const event: AgentEvent = { type, agent, at: agent.updated_at, correlation_id: correlationId };
      await insertOutboxEvent(trx, { agent_name: agent.name, version: agent.version, msg_id: agentEventMsgId(type, agent), event });
    },
    flush: (agentName) => drain(agentName, false),
    async republishStale(olderThanMs) {
      let published = 0;
      for (const agentName of await agentsWithStaleEvents(deps.db, olderThanMs)) {
        try {
          const result = await drain(agentName, true);
          published += result.published;
          if (result.error) deps.logger.warn("agent event not republished", { agent: agentName, error: result.error.message });
        } catch (err) {
          if (!isLockNotAvailable(err)) deps.logger.warn("agent events not republished", { agent: agentName, error: (err as Error).message });
        }
      }
      if (published > 0) deps.logger.info("agent events republished", { count: published });
      return published;
    },
  };
}

/** Every `intervalMs`, publish what the outbox has held for longer than that; stop() waits for a round in flight. */
export function startRepublisher(publisher: AgentEventPublisher, { intervalMs, logger }: { intervalMs: number; logger: Logger }): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const round = () => {
    running = publisher
      .republishStale(intervalMs)
      .catch((err: unknown) => logger.warn("agent event republisher round failed", { error: (err as Error).message }))
      .finally(() => {
        if (!stopped) timer = setTimeout(round, intervalMs);
      });
  };
  round();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
