// An agent written with the SDK. Register it first (runtime "sdk"), then run this file with the
// executor's environment: NATS_URL=… DATABASE_URL=… node libs/agent-sdk/dist/examples/uppercase-agent.js
import { AgentError, defineAgent, runAgent } from "../src/index.js";

const uppercase = defineAgent<{ text?: string }, { text: string }>(async ({ input, progress, log, signal }) => {
  if (typeof input.text !== "string") throw new AgentError("input.text must be a string", { retryable: false });
  log(`uppercasing ${input.text.length} characters`);
  progress(0.5);
  if (signal.aborted) throw new Error("aborted");
  return { text: input.text.toUpperCase() };
});

const running = await runAgent({ agent: process.env.AGENT_NAME ?? "uppercase", handler: uppercase });
process.once("SIGTERM", () => void running.stop().then(() => process.exit(0)));
process.once("SIGINT", () => void running.stop().then(() => process.exit(0)));
