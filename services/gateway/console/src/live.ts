import { io, type Socket } from "socket.io-client";
import type { RelayedTaskEvent, SessionEndedNotice, SocketEvents, SubscribeAck } from "@meridian/contracts";
import { refresh, session } from "./api.js";

// Names typed against the contracts without bundling them (they carry joi).
const TASK_EVENT: (typeof SocketEvents)["taskEvent"] = "task:event";
const SUBSCRIBE: (typeof SocketEvents)["subscribe"] = "subscribe";
const UNSUBSCRIBE: (typeof SocketEvents)["unsubscribe"] = "unsubscribe";
const SESSION_ENDED: (typeof SocketEvents)["sessionEnded"] = "session:ended";

let socket: Socket | null = null;
let socketToken: string | null = null;
type Listener = (e: RelayedTaskEvent) => void;
const listeners = new Set<Listener>();
// Events seen per task, so a view created after an event arrived (the task's own submit answer can come
// after its first events) still shows it: the server does not replay what the socket already received.
const recent = new Map<string, RelayedTaskEvent[]>();
const RECENT_TASKS = 50;

function remember(e: RelayedTaskEvent): void {
  const list = recent.get(e.task_id) ?? [];
  list.push(e);
  recent.delete(e.task_id);
  recent.set(e.task_id, list);
  if (recent.size > RECENT_TASKS) recent.delete(recent.keys().next().value!);
}

export function seenEvents(taskId: string): RelayedTaskEvent[] {
  return recent.get(taskId) ?? [];
}
const statusListeners = new Set<(s: string) => void>();
export let liveStatus = "offline";

function setStatus(s: string) {
  liveStatus = s;
  statusListeners.forEach((l) => l(s));
}

/** One socket per session, same origin, the access token in the handshake; every event of the user's tasks arrives. */
export function connectLive(): Promise<Socket> {
  const token = session.tokens?.access_token ?? null;
  if (socket && socketToken === token && socket.connected) return Promise.resolve(socket);
  disconnectLive();
  socketToken = token;
  const s = io({ path: "/socket.io", auth: (cb) => cb({ token: session.tokens?.access_token }), transports: ["websocket"] });
  socket = s;
  setStatus("connecting");
  s.on(TASK_EVENT, (e: RelayedTaskEvent) => {
    remember(e);
    listeners.forEach((l) => l(e));
  });
  s.on("connect", () => setStatus("live"));
  s.on("disconnect", () => setStatus("offline"));
  s.on(SESSION_ENDED, (n: SessionEndedNotice) => {
    setStatus("session ended");
    // An expired access token: refresh it, reconnect, and resume each followed task after its last event.
    if (n.reason !== "session_revoked") void refresh().then((ok) => (ok ? resume() : undefined));
  });
  return new Promise((resolve, reject) => {
    if (s.connected) return resolve(s);
    s.once("connect", () => resolve(s));
    s.once("connect_error", (err) => {
      setStatus("offline");
      reject(err);
    });
  });
}

export function disconnectLive(): void {
  socket?.disconnect();
  recent.clear();
  followed.clear();
  socket = null;
  setStatus("offline");
}

export function onTaskEvent(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function onLiveStatus(l: (s: string) => void): () => void {
  statusListeners.add(l);
  return () => statusListeners.delete(l);
}

const followed = new Set<string>();
async function resume(): Promise<void> {
  const since = [...followed].map((id): [string, number] => [id, Math.max(0, ...seenEvents(id).map((e) => e.seq))]);
  await connectLive();
  for (const [taskId, seq] of since) await followTask(taskId, seq).catch(() => undefined);
}

/** Follow one task: its history from `since` is replayed, then live events follow. */
export async function followTask(taskId: string, since = 0): Promise<SubscribeAck> {
  followed.add(taskId);
  const s = await connectLive();
  return (await s.timeout(10_000).emitWithAck(SUBSCRIBE, { taskId, since })) as SubscribeAck;
}

export function unfollowTask(taskId: string): void {
  followed.delete(taskId);
  socket?.emit(UNSUBSCRIBE, { taskId });
}
