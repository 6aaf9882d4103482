import type { Socket } from "socket.io";
import type { SubscribeAck } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";
import { endSession, stateOf } from "./delivery.js";

/**
 * Every event a client sends spends a token of its socket's budget first. Without one the event is dropped and
 * acknowledged RATE_LIMITED; a client that keeps sending regardless is disconnected as abuse.
 */
export function limitEvents(socket: Socket, logger: Logger): void {
  const state = stateOf(socket);
  socket.use(([, ...args], next) => {
    const verdict = state.budget.take();
    if (verdict === "allow") return next();
    const ack = args[args.length - 1];
    if (typeof ack === "function") (ack as (answer: SubscribeAck) => void)({ ok: false, error: { code: "RATE_LIMITED", message: "Too many events on this socket; slow down" } });
    if (verdict === "abuse") {
      logger.warn("socket disconnected for abuse", { socket_id: socket.id, user_id: state.principal.sub });
      endSession(socket, "abuse");
    }
  });
}
