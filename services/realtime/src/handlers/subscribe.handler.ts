import type { Socket } from "socket.io";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  canWatchAgent,
  hasScope,
  MeridianError,
  SocketEvents,
  Subjects,
  SubscribeRequestSchema,
  validate,
  type ResyncNotice,
  type SubscribeAck,
  type SubscribeRequest,
  type TaskView,
} from "@meridian/contracts";
import { requestJson, type JetStreamClient, type JetStreamManager, type Logger } from "@meridian/service-kit";
import { rooms, stateOf, type Delivery } from "../relay/delivery.js";
import { taskHistory } from "../relay/history.js";
import type { TaskSequencer } from "../relay/sequencer.js";

export interface SubscribeDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  delivery: Delivery;
  sequencer: TaskSequencer;
  logger: Logger;
  timeoutMs: number;
  maxSubscriptions: number;
}

const refusal = (err: unknown): SubscribeAck => {
  const known = err instanceof MeridianError ? err : new MeridianError("INTERNAL", "Internal error");
  return { ok: false, error: { code: known.code, message: known.message } };
};

/**
 * `subscribe { taskId, since? }`: the credential must carry `tasks:read` and the executor decides (every
 * time) whether the caller may see the task; a socket follows at most `maxSubscriptions` tasks and agents. Then the socket joins the task's room, gets what it missed after `since` from the stream's
 * history in order (up to the first gap the relay is still waiting to fill), then live events, with
 * nothing missing and nothing twice.
 */
export function subscribeHandler(socket: Socket, deps: SubscribeDeps) {
  return async (payload: unknown, ack?: (answer: SubscribeAck) => void): Promise<void> => {
    const reply = typeof ack === "function" ? ack : () => undefined;
    const state = stateOf(socket);
    const { value, problems } = validate<SubscribeRequest>(SubscribeRequestSchema, payload ?? {});
    if (problems) return reply({ ok: false, error: { code: "VALIDATION_FAILED", message: problems.map((p) => p.message).join("; ") } });
    try {
      const room = value.agent ? rooms.agent(value.agent) : rooms.task(value.taskId!);
      if (!state.subscriptions.has(room) && state.subscriptions.size >= deps.maxSubscriptions) {
        throw new MeridianError("RATE_LIMITED", `A socket follows at most ${deps.maxSubscriptions} tasks and agents; unsubscribe first`);
      }
      if (value.agent) {
        if (!canWatchAgent(state.principal)) throw new MeridianError("FORBIDDEN", "Only admins (API keys: with the admin scope) may watch a whole agent");
        state.subscriptions.add(room);
        await socket.join(room);
        return reply({ ok: true, replayed: 0 });
      }
      if (!hasScope(state.principal, "tasks:read")) throw new MeridianError("FORBIDDEN", "Missing scope: tasks:read");
      const taskId = value.taskId!;
      const task = await requestJson<TaskView>(deps.nc, Subjects.tasks.get, { id: taskId }, { timeoutMs: deps.timeoutMs, principal: state.principal });
      state.replaying.set(taskId, []);
      state.subscriptions.add(room);
      await socket.join(room);
      let replayed = 0;
      try {
        if (value.since !== undefined) {
          const history = await taskHistory(deps.js, deps.jsm, taskId, task.owner_id);
          const first = history[0]?.seq ?? null;
          if (first === null ? value.since > 0 : first > value.since + 1) {
            socket.emit(SocketEvents.resync, { taskId, reason: "history_expired", since: value.since, first_available_seq: first } satisfies ResyncNotice);
          }
          const buffered = state.replaying.get(taskId) ?? [];
          state.replaying.delete(taskId);
          replayed = deps.delivery.replay(socket, taskId, value.since, [...history, ...buffered], deps.sequencer.releasedBefore(taskId));
        }
      } finally {
        const buffered = state.replaying.get(taskId) ?? [];
        state.replaying.delete(taskId);
        for (const event of buffered.sort((a, b) => a.seq - b.seq)) deps.delivery.deliver(socket, event);
      }
      reply({ ok: true, replayed });
    } catch (err) {
      if (!(err instanceof MeridianError)) deps.logger.error("subscribe failed", { error: err });
      reply(refusal(err));
    }
  };
}

export function unsubscribeHandler(socket: Socket) {
  return async (payload: { taskId?: unknown; agent?: unknown } | undefined, ack?: (answer: SubscribeAck) => void): Promise<void> => {
    const reply = typeof ack === "function" ? ack : () => undefined;
    const room = typeof payload?.taskId === "string" ? rooms.task(payload.taskId) : typeof payload?.agent === "string" ? rooms.agent(payload.agent) : undefined;
    if (!room) return reply({ ok: false, error: { code: "VALIDATION_FAILED", message: "give taskId or agent" } });
    stateOf(socket).subscriptions.delete(room);
    await socket.leave(room);
    reply({ ok: true, replayed: 0 });
  };
}
