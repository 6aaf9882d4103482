import type { Socket } from "socket.io";
import type { NatsConnection } from "@nats-io/transport-node";
import {
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
import { requestJson, type JetStreamClient, type Logger } from "@meridian/service-kit";
import { rooms, stateOf, type Delivery } from "../relay/delivery.js";
import { taskHistory } from "../relay/history.js";
import type { TaskSequencer } from "../relay/sequencer.js";

export interface SubscribeDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  delivery: Delivery;
  sequencer: TaskSequencer;
  logger: Logger;
  timeoutMs: number;
}

const refusal = (err: unknown): SubscribeAck => {
  const known = err instanceof MeridianError ? err : new MeridianError("INTERNAL", "Internal error");
  return { ok: false, error: { code: known.code, message: known.message } };
};

/**
 * `subscribe { taskId, since? }`: the executor decides (every time) whether the caller may see the
 * task; then the socket joins the task's room, gets what it missed after `since` from the stream's
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
      if (value.agent) {
        if (!state.principal.roles.includes("admin")) throw new MeridianError("FORBIDDEN", "Only admins may watch a whole agent");
        await socket.join(rooms.agent(value.agent));
        return reply({ ok: true, replayed: 0 });
      }
      const taskId = value.taskId!;
      await requestJson<TaskView>(deps.nc, Subjects.tasks.get, { id: taskId }, { timeoutMs: deps.timeoutMs, principal: state.principal });
      state.replaying.set(taskId, []);
      await socket.join(rooms.task(taskId));
      let replayed = 0;
      try {
        if (value.since !== undefined) {
          const history = await taskHistory(deps.js, taskId);
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
    if (typeof payload?.taskId === "string") await socket.leave(rooms.task(payload.taskId));
    else if (typeof payload?.agent === "string") await socket.leave(rooms.agent(payload.agent));
    else return reply({ ok: false, error: { code: "VALIDATION_FAILED", message: "give taskId or agent" } });
    reply({ ok: true, replayed: 0 });
  };
}
