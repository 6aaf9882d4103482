import type { Server, Socket } from "socket.io";
import { SocketEvents, type Principal, type RelayedTaskEvent, type SessionEndedNotice } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";

/** What one connection knows: who it is, per task the last unbroken run of seqs it was sent, and tasks being replayed. */
export interface SocketState {
  principal: Principal;
  seen: Map<string, { from: number; to: number }>;
  replaying: Map<string, RelayedTaskEvent[]>;
  expiryTimer?: NodeJS.Timeout;
}

const SEEN_LIMIT = 10_000;

export const rooms = {
  user: (sub: string) => `user:${sub}`,
  task: (id: string) => `task:${id}`,
  agent: (name: string) => `agent:${name}`,
  session: (sid: string) => `sid:${sid}`,
};

export const stateOf = (socket: Socket) => socket.data as SocketState;

export function endSession(socket: Socket, reason: SessionEndedNotice["reason"]): void {
  socket.emit(SocketEvents.sessionEnded, { reason } satisfies SessionEndedNotice);
  socket.disconnect(true);
}

/**
 * Hands events to this replica's own sockets. Each socket gets a task's events once and in seq
 * order: a replayed or redelivered event it already has is dropped; events arriving while its
 * history is being replayed wait in a buffer. Sending never waits on a client: a client that lets
 * too much pile up is disconnected and resumes with `since`.
 */
export class Delivery {
  constructor(
    private readonly io: Server,
    private readonly logger: Logger,
    private readonly maxBuffered: number,
    private readonly counters?: { relayed(): void; delivered(): void },
  ) {}

  deliver(socket: Socket, event: RelayedTaskEvent): boolean {
    const state = stateOf(socket);
    const buffer = state.replaying.get(event.task_id);
    if (buffer) {
      buffer.push(event);
      return false;
    }
    if ((state.seen.get(event.task_id)?.to ?? 0) >= event.seq) return false;
    const queued = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
    if (queued > this.maxBuffered) {
      this.logger.warn("slow client disconnected", { socket_id: socket.id, queued });
      endSession(socket, "slow_consumer");
      return false;
    }
    socket.emit(SocketEvents.taskEvent, event);
    this.counters?.delivered();
    this.markSent(state, event);
    return true;
  }

  /**
   * `subscribe { since }`: sends, in seq order, the task's events after `since` that this socket was not
   * sent yet. Live events can reach it (through its user room) between a reconnect and the subscribe;
   * those are skipped, not the ones before them.
   */
  replay(socket: Socket, taskId: string, since: number, events: RelayedTaskEvent[]): number {
    const state = stateOf(socket);
    const sent = state.seen.get(taskId);
    state.seen.delete(taskId);
    state.seen.set(taskId, { from: since + 1, to: since });
    let replayed = 0;
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (!sent || event.seq < sent.from || event.seq > sent.to) {
        if (this.deliver(socket, event)) replayed++;
      } else if (event.seq > (state.seen.get(taskId)?.to ?? since)) {
        this.markSent(state, event);
      }
    }
    return replayed;
  }

  private markSent(state: SocketState, event: RelayedTaskEvent): void {
    const run = state.seen.get(event.task_id);
    state.seen.delete(event.task_id);
    state.seen.set(event.task_id, { from: run && run.to + 1 === event.seq ? run.from : event.seq, to: event.seq });
    if (state.seen.size > SEEN_LIMIT) state.seen.delete(state.seen.keys().next().value as string);
  }

  /** Every local socket that should see this event: its owner's, the task's and the agent's rooms. */
  relay(event: RelayedTaskEvent): number {
    this.counters?.relayed();
    const nsp = this.io.of("/");
    const ids = new Set<string>();
    for (const room of [rooms.user(event.owner_id), rooms.task(event.task_id), rooms.agent(event.agent)]) {
      for (const id of nsp.adapter.rooms.get(room) ?? []) ids.add(id);
    }
    let sent = 0;
    for (const id of ids) {
      const socket = nsp.sockets.get(id);
      if (socket && this.deliver(socket, event)) sent++;
    }
    return sent;
  }
}
