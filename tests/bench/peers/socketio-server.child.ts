// A bare Socket.IO server with the Redis adapter (as the realtime service has): every socket joins one room and,
// on request, the server emits stamped events to that room at a fixed rate.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { onStop, report, type PeerMessage } from "../lib/peer-process.js";

export const BARE_ROOM = "user:bench";

async function main(): Promise<void> {
  const pub = createClient({ url: process.env.REDIS_URL! });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const http = createServer();
  const io = new Server(http, { path: "/socket.io", adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY! }), transports: ["polling", "websocket"] });
  io.on("connection", (socket) => void socket.join(BARE_ROOM));

  process.on("message", (m: PeerMessage) => {
    if (m.type !== "emit") return;
    const rate = m.rate as number;
    const total = Math.round(rate * (m.seconds as number));
    const template = m.template as Record<string, unknown>;
    const started = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      for (; sent < due; sent++) io.to(BARE_ROOM).emit(m.event as string, { ...template, task_id: `bare-${sent % 30}`, seq: sent + 1, at: new Date().toISOString() });
      if (sent < total) setTimeout(tick, Math.max(1, 1000 / rate));
      else report({ type: "emitted", n: sent });
    };
    tick();
  });

  http.listen(0, "127.0.0.1", () => report({ type: "ready", port: (http.address() as AddressInfo).port }));
  onStop(async () => {
    await io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
