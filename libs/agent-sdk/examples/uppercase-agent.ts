// An agent written with the SDK. Register it first (runtime "sdk"), save its worker credentials
// (POST /api/v1/agents/<name>/worker-credentials, the `creds` field) to a file, then run this file with nothing but
// a NATS connection: AGENT_ID=<id> NATS_URL=nats://127.0.0.1:<port> NATS_CREDS=agent.creds node libs/agent-sdk/dist/examples/uppercase-agent.js
import { readFileSync } from "node:fs";
import { AgentError, defineAgent, runAgent } from "../src/index.js";

const uppercase = defineAgent<{ text?: string }, { text: string }>(async ({ input, progress, log, signal }) => {
  if (typeof input.text !== "string") throw new AgentError("input.text must be a string", { retryable: false });
  log(`uppercasing ${input.text.length} characters`);
  progress(0.5);
  if (signal.aborted) throw new Error("aborted");
  return { text: input.text.toUpperCase() };
});

const agentId = process.env.AGENT_ID;
if (!agentId) throw new Error("Set AGENT_ID to the registered agent's id");
const running = await runAgent({
  agentId,
  handler: uppercase,
  servers: process.env.NATS_URL ?? "127.0.0.1:4222",
  ...(process.env.NATS_CREDS ? { credentials: readFileSync(process.env.NATS_CREDS, "utf8") } : {}),
  concurrency: 4,
});
process.once("SIGTERM", () => void running.stop().then(() => process.exit(0)));
process.once("SIGINT", () => void running.stop().then(() => process.exit(0)));
