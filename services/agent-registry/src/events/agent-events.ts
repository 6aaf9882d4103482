import { StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { headers as natsHeaders, nanos } from "@nats-io/transport-node";
import { agentEventSubject, Headers, Streams, type AgentEvent, type AgentEventType, type AgentView } from "@meridian/contracts";
import { currentContext, ensureStream, type Logger } from "@meridian/service-kit";

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

export interface AgentEventPublisher {
  publish(type: AgentEventType, agent: AgentView): Promise<void>;
}

/** The message id makes a retried publish of the same change a no-op on the stream. */
export const agentEventMsgId = (type: AgentEventType, agent: AgentView) => `${agent.name}:${agent.version}:${type}`;

export function createAgentEventPublisher(js: JetStreamClient, { timeoutMs }: { timeoutMs: number }): AgentEventPublisher {
  return {
    async publish(type, agent) {
      const correlationId = currentContext()?.correlationId ?? "";
      const event: AgentEvent = { type, agent, at: agent.updated_at, correlation_id: correlationId };
      const h = natsHeaders();
      if (correlationId) h.set(Headers.correlationId, correlationId);
      await js.publish(agentEventSubject(agent.name), JSON.stringify(event), {
        msgID: agentEventMsgId(type, agent),
        headers: h,
        timeout: timeoutMs,
        expect: { streamName: Streams.agentEvents.name },
      });
    },
  };
}
