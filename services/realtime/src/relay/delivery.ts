import type { Server, Socket } from "socket.io";
import { SocketEvents, type Principal, type RelayedTaskEvent, type SessionEndedNotice } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";
import type { EventBudget } from "../domain/event-budget.js";

/** What one connection knows: who it is, per task the last unbroken run of seqs it was sent, and tasks being replayed. */
export interface SocketState {
  principal: Principal;
  seen: Map<string, { from: number; to: number }>;
  replaying: Map<string, RelayedTaskEvent[]>;
  /** Task and agent rooms joined through `subscribe` (capped per socket). */
  subscriptions: Set<string>;
  budget: EventBudget;
  expiryTimer?: NodeJS.Timeout;
}

const SEEN_LIMIT = 10_000;

export const rooms = {
  user: (sub: string) => `user:${sub}`,
  task: (id: string) => `task:${id}`,
  agent: (name: string) => `agent:${name}`,
  session: (sid: string) => `sid:${sid}`,
  apiKey: (keyId: string) => `key:${keyId}`,
};

export const stateOf = (socket: Socket) => socket.data as SocketState;

interface WebSocketTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

/**
 * Engine.IO writes each packet it flushes to a WebSocket with a syscall of its own; a burst of events
 * (tasks started together report progress on the same tick) makes that most of the relay's CPU time.
 * Corking the connection's TCP socket around each flush makes the flush one write.
 */
export function batchWrites(socket: Socket): void {
  const patch = () => {
    const transport = socket.conn.transport as unknown as WebSocketTransport;
    const tcp = transport.socket?._socket;
    if (transport.name !== "websocket" || !tcp || typeof tcp.cork !== "function") return;
    const send = transport.send.bind(transport);
    transport.send = (packets) => {
      tcp.cork();
      try {
        send(packets);
      } finally {
        tcp.uncork();
      }
    };
  };
  patch();
  socket.conn.once("upgrade", patch);
}

export function endSession(socket: Socket, reason: SessionEndedNotice["reason"]): void {
  socket.emit(SocketEvents.sessionEnded, { reason } satisfies SessionEndedNotice);
  socket.disconnect(true);
}

/**
 * Hands events (already in seq order per task, see TaskSequencer) to this replica's own sockets. Each
 * socket gets a task's events once and in seq order: a replayed event it already has is dropped; events
 * arriving while its history is being replayed wait in a buffer. An event is encoded once for all the
 * sockets that take it as it is. Sending never waits on a client: a client that lets too much pile up is
 * disconnected and resumes with `since`.
 */
export class Delivery {
  constructor(
    private readonly io: Server,
    private readonly logger: Logger,
    private readonly maxBuffered: number,
    private readonly counters?: { relayed(): void; delivered(sockets: number): void },
  ) {}

  deliver(socket: Socket, event: RelayedTaskEvent): boolean {
    if (!this.admit(socket, event)) return false;
    socket.emit(SocketEvents.taskEvent, event);
    this.counters?.delivered(1);
    return true;
  }

  /** Whether the socket takes the event now (then it is recorded as sent); otherwise buffered, a repeat, or the socket was dropped. */
  private admit(socket: Socket, event: RelayedTaskEvent): boolean {
    const state = stateOf(socket);
    const buffer = state.replaying.get(event.task_id);
    if (buffer) {
      if (buffer.length >= this.maxBuffered) this.dropSlow(socket, buffer.length);
      else buffer.push(event);
      return false;
    }
    if ((state.seen.get(event.task_id)?.to ?? 0) >= event.seq) return false;
    const queued = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
    if (queued > this.maxBuffered) {
      this.dropSlow(socket, queued);
      return false;
    }
    this.markSent(state, event);
    return true;
  }

  private dropSlow(socket: Socket, queued: number): void {
    this.logger.warn("slow client disconnected", { socket_id: socket.id, queued });
    endSession(socket, "slow_consumer");
  }

  /**
   * `subscribe { since }`: sends, in seq order, the task's events after `since` that this socket was not
   * sent yet. Live events can reach it (through its user room) between a reconnect and the subscribe;
   * those are skipped, not the ones before them.
   */
  replay(socket: Socket, taskId: string, since: number, events: RelayedTaskEvent[], releasedBefore?: number): number {
    const state = stateOf(socket);
    const sent = state.seen.get(taskId);
    state.seen.delete(taskId);
    state.seen.set(taskId, { from: since + 1, to: since });
    let replayed = 0;
    let previous = since;
    for (const event of [...new Map(events.map((e) => [e.seq, e])).values()].sort((a, b) => a.seq - b.seq)) {
      if (event.seq <= since) continue;
      // Past what the relay has released, only an unbroken run: the event after a gap comes live, after the missing one.
      if (releasedBefore !== undefined && event.seq >= releasedBefore && event.seq !== previous + 1) break;
      previous = event.seq;
      if (!sent || event.seq < sent.from || event.seq > sent.to) {
        if (this.deliver(socket, event)) replayed++;
      } else if (event.seq > (state.seen.get(taskId)?.to ?? since)) {
        this.markSent(state, event);
      }
    }
    return replayed;
  }

  /** On the hot path (every socket, every event): the run is extended in place; the oldest task is forgotten past the limit. */
  private markSent(state: SocketState, event: RelayedTaskEvent): void {
    const run = state.seen.get(event.task_id);
    if (run) {
      if (run.to + 1 !== event.seq) run.from = event.seq;
      run.to = event.seq;
      return;
    }
    state.seen.set(event.task_id, { from: event.seq, to: event.seq });
    if (state.seen.size > SEEN_LIMIT) state.seen.delete(state.seen.keys().next().value as string);
  }

  /**
   * Every local socket that should see this event: its owner's, the task's and the agent's rooms. Encoded
   * once for all of them (`local`: each replica relays the stream to its own sockets, nothing goes through Redis).
   */
  relay(event: RelayedTaskEvent): number {
    this.counters?.relayed();
    const nsp = this.io.of("/");
    const targets = [rooms.user(event.owner_id), rooms.task(event.task_id), rooms.agent(event.agent)];
    const ids = new Set<string>();
    for (const room of targets) {
      for (const id of nsp.adapter.rooms.get(room) ?? []) ids.add(id);
    }
    const taking: string[] = [];
    for (const id of ids) {
      const socket = nsp.sockets.get(id);
      if (socket && this.admit(socket, event)) taking.push(id);
    }
    if (taking.length > 0) this.io.local.to(taking.length === ids.size ? targets : taking).emit(SocketEvents.taskEvent, event);
    this.counters?.delivered(taking.length);
    return taking.length;
  }
}
