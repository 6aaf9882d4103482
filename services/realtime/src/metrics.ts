import type { Server } from "socket.io";
import { Counter, Gauge, type ServiceMetrics } from "@meridian/service-kit";

/** Socket.IO clients connected to this replica, task events taken from the stream, and deliveries to sockets. */
export function realtimeMetrics(metrics: ServiceMetrics, io: Server): { relayed(): void; delivered(sockets: number): void } {
  const registers = [metrics.registry];
  new Gauge({
    name: "meridian_realtime_connected_clients",
    help: "Socket.IO clients connected to this replica",
    registers,
    collect() {
      this.set(io.of("/").sockets.size);
    },
  });
  const relayed = new Counter({ name: "meridian_realtime_events_relayed_total", help: "Task events taken from the stream and handed to this replica's sockets", registers });
  const delivered = new Counter({ name: "meridian_realtime_events_delivered_total", help: "Task events sent to a socket (one per receiving socket, replays included)", registers });
  return { relayed: () => relayed.inc(), delivered: (sockets) => sockets > 0 && delivered.inc(sockets) };
}
