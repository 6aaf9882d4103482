// graphile-worker's runner with a no-op task, configured as in its performance docs; reports completions.
import { Logger, run } from "graphile-worker";
import { graphileWorkerConfig } from "./config.js";
import { completionReporter, onStop, report } from "../lib/peer-process.js";

async function main(): Promise<void> {
  const completed = completionReporter();
  const runner = await run({
    noHandleSignals: true,
    logger: new Logger(() => () => {}),
    taskList: { noop: async () => {} },
    preset: { worker: { connectionString: process.env.DATABASE_URL!, ...graphileWorkerConfig } },
  });
  runner.events.on("job:success", completed);
  onStop(() => runner.stop());
  report({ type: "ready" });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
