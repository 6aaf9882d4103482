import type { Logger } from "@meridian/service-kit";

/**
 * API key uses noted in memory and written as one statement per interval, instead of an UPDATE per
 * verification. `last_used_at` may trail by one interval; a stop flushes what is pending.
 */
export class KeyUseRecorder {
  private pending = new Set<string>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (keyIds: string[]) => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  record(keyId: string): void {
    this.pending.add(keyId);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return this.flushing;
    const ids = [...this.pending];
    this.pending = new Set();
    this.flushing = this.flushing
      .then(() => this.write(ids))
      .then(
        () => undefined,
        (err: unknown) => void this.logger.warn("api key uses not recorded", { keys: ids.length, error: String(err) }),
      );
    return this.flushing;
  }
}
