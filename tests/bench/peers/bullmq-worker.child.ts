// A BullMQ worker with a no-op processor on its own key prefix and Redis db; reports completions.
import { Worker } from "bullmq";
import { bullmqWorkerConcurrency } from "./config.js";
import { completionReporter, onStop, report } from "../lib/peer-process.js";

async function main(): Promise<void> {
  const completed = completionReporter();
  const worker = new Worker(process.env.QUEUE!, async () => {}, {
    connection: { host: "127.0.0.1", port: 6379, db: Number(process.env.REDIS_DB) },
    prefix: process.env.PREFIX!,
    concurrency: bullmqWorkerConcurrency,
  });
  worker.on("completed", completed);
  await worker.waitUntilReady();
  onStop(() => worker.close());
  report({ type: "ready" });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
