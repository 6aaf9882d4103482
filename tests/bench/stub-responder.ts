// For `gateway-edge.ts`: answers one subject with a fixed JSON body in its own process, so the gateway's own
// cost can be measured without the owning service's database work.
import { connect } from "@nats-io/transport-node";

const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const body = new TextEncoder().encode(process.env.STUB_BODY ?? "{}");
nc.subscribe(process.env.STUB_SUBJECT ?? "", { queue: process.env.STUB_QUEUE ?? "stub", callback: (_err, msg) => void msg.respond(body) });
await nc.flush();
process.stdout.write(`${JSON.stringify({ message: "stub listening" })}\n`);
process.once("SIGTERM", () => void nc.drain().then(() => process.exit(0)));
