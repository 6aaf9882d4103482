import type Transport from "winston-transport";
import type { Logger } from "./logger.js";
import type { OpsServer } from "./ops.js";

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Process entry helper: start the service, stop it cleanly on SIGTERM/SIGINT within the grace
 * period, and exit 1 on a fatal start error (bad config, unreachable dependency).
 */
export function runMain(name: string, start: () => Promise<RunningService>): void {
  let stopping = false;
  start()
    .then((running) => {
      const shutdown = (signal: string) => {
        // A second signal (Ctrl-C twice, SIGTERM after SIGINT) must not kill the process mid-drain.
        if (stopping) return void running.logger.info("already shutting down", { signal });
        stopping = true;
        running.logger.info("shutting down", { signal });
        running.ops?.shuttingDown();
        const deadline = setTimeout(() => {
          running.logger.error("shutdown grace period exceeded; exiting");
          process.exit(1);
        }, running.graceMs + 2000);
        deadline.unref();
        running.stop().then(
          () => {
            running.logger.info("stopped");
            process.exit(0);
          },
          (err: unknown) => {
            running.logger.error("stop failed", { error: err });
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => shutdown("SIGTERM"));
      process.on("SIGINT", () => shutdown("SIGINT"));
    })
    .catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`${JSON.stringify({ level: "error", service: name, message: `fatal: ${message}` })}\n`);
      process.exit(1);
    });
}

/** What every service's start() hands back: runMain and tests stop it the same way. */
export interface RunningService extends Stoppable {
  logger: Logger;
  graceMs: number;
  /** The ops port (/healthz, /readyz, /metrics); its url is undefined when METRICS_PORT is unset. */
  ops?: OpsServer;
}

/** Options every service's start() accepts; tests capture logs through them. */
export interface ServiceOptions {
  logTransports?: Transport[];
  silentLogs?: boolean;
}
