import type Transport from "winston-transport";
import type { Logger } from "./logger.js";

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Process entry helper: start the service, stop it cleanly on SIGTERM/SIGINT within the grace
 * period, and exit 1 on a fatal start error (bad config, unreachable dependency).
 */
export function runMain(name: string, start: () => Promise<Stoppable & { logger: Logger; graceMs: number }>): void {
  let stopping = false;
  start()
    .then((running) => {
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.logger.info("shutting down", { signal });
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
      process.once("SIGTERM", () => shutdown("SIGTERM"));
      process.once("SIGINT", () => shutdown("SIGINT"));
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
}

/** Options every service's start() accepts; tests capture logs through them. */
export interface ServiceOptions {
  logTransports?: Transport[];
  silentLogs?: boolean;
}
