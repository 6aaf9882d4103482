import type { RelayedTaskEvent } from "@meridian/contracts";
import type { Logger } from "@meridian/service-kit";

export interface SequencerOptions {
  /** How long a later event waits for a missing one before the stream's history is asked for it. */
  holdMs: number;
  /** After this long the later events go out without the missing one. */
  maxHoldMs: number;
  /** More held events than this for one task: they go out without the missing one. */
  maxHeldPerTask: number;
  /** Tasks remembered (least recently seen forgotten first). */
  maxTasks: number;
  /** The task's events as the stream keeps them. */
  history: (taskId: string) => Promise<RelayedTaskEvent[]>;
  release: (event: RelayedTaskEvent) => void;
  logger: Logger;
}

interface Line {
  /** The seq released next; 0 while it is not known yet (first seen mid-task, history being read). */
  next: number;
  held: Map<number, RelayedTaskEvent>;
  /** First seen mid-task: the stream position of that event (what is before it predates this relay). */
  probeStreamSeq?: number;
  waitingSince?: number;
  attempts: number;
  timer?: NodeJS.Timeout;
  filling: boolean;
  /** Seqs given up on (sent past); one arriving later is logged, the client has moved on. */
  skipped?: Set<number>;
}

const MAX_CONCURRENT_FILLS = 4;
const MAX_SKIPPED = 1000;

/**
 * Puts each task's events back in seq order before they reach sockets. The stream can hold them out of
 * order (the executor's republisher publishes a late event after later ones): a later event is held until
 * the missing one arrives, and after `holdMs` the stream's history is read for it. Events already released
 * (a republish past the dedupe window) are dropped.
 */
export class TaskSequencer {
  private readonly lines = new Map<string, Line>();
  private fills = 0;
  private readonly waitingFills: Array<() => void> = [];

  constructor(private readonly options: SequencerOptions) {}

  /** Seqs below this have been released for the task (or given up); undefined when the task is not tracked. */
  releasedBefore(taskId: string): number | undefined {
    const line = this.lines.get(taskId);
    return line ? Math.max(line.next, 1) : undefined;
  }

  accept(event: RelayedTaskEvent): void {
    let line = this.lines.get(event.task_id);
    if (line) {
      this.lines.delete(event.task_id);
      this.lines.set(event.task_id, line);
    } else {
      line = { next: event.seq === 1 ? 1 : 0, held: new Map(), attempts: 0, filling: false };
      this.lines.set(event.task_id, line);
      this.forgetOldest();
      if (line.next === 0) {
        // Seen first mid-task (this relay started after the task did): the history tells which earlier
        // seqs are still to come.
        line.probeStreamSeq = event.stream_seq;
        this.hold(event.task_id, line, event);
        void this.fill(event.task_id, line);
        return;
      }
    }
    if (line.next === 0) return this.hold(event.task_id, line, event);
    if (event.seq < line.next || line.held.has(event.seq)) {
      if (line.skipped?.delete(event.seq)) this.options.logger.warn("task event arrived after its gap was given up", { task_id: event.task_id, seq: event.seq });
      return;
    }
    if (event.seq === line.next) return this.releaseRun(event.task_id, line, event);
    this.hold(event.task_id, line, event);
  }

  stop(): void {
    for (const line of this.lines.values()) clearTimeout(line.timer);
    this.lines.clear();
  }

  private hold(taskId: string, line: Line, event: RelayedTaskEvent): void {
    line.held.set(event.seq, event);
    line.waitingSince ??= Date.now();
    if (line.held.size > this.options.maxHeldPerTask) return this.giveUp(taskId, line, "too many events held");
    if (!line.timer && !line.filling) this.schedule(taskId, line);
  }

  private schedule(taskId: string, line: Line): void {
    const waited = Date.now() - (line.waitingSince ?? Date.now());
    const delay = Math.min(this.options.holdMs * 2 ** line.attempts, Math.max(0, this.options.maxHoldMs - waited));
    line.timer = setTimeout(() => {
      line.timer = undefined;
      if (Date.now() - (line.waitingSince ?? Date.now()) >= this.options.maxHoldMs) this.giveUp(taskId, line, "still missing after the longest hold");
      else void this.fill(taskId, line);
    }, delay);
    line.timer.unref();
  }

  /** Releases `first`, then every held (or `known`) event that follows it without a gap. */
  private releaseRun(taskId: string, line: Line, first: RelayedTaskEvent, known?: Map<number, RelayedTaskEvent>): void {
    let event: RelayedTaskEvent | undefined = first;
    while (event) {
      line.held.delete(event.seq);
      line.next = event.seq + 1;
      this.options.release(event);
      event = line.held.get(line.next) ?? known?.get(line.next);
    }
    if (line.held.size === 0) {
      clearTimeout(line.timer);
      line.timer = undefined;
      line.waitingSince = undefined;
      line.attempts = 0;
    }
  }

  /** Reads the task's history for the missing seqs; what is still missing waits for the next round. */
  private async fill(taskId: string, line: Line): Promise<void> {
    if (line.filling) return;
    line.filling = true;
    line.attempts++;
    let history: RelayedTaskEvent[] = [];
    try {
      await this.slot();
      history = await this.options.history(taskId);
    } catch (err) {
      this.options.logger.warn("task history not read", { task_id: taskId, error: (err as Error).message });
    } finally {
      line.filling = false;
      this.fills--;
      this.waitingFills.shift()?.();
    }
    if (this.lines.get(taskId) !== line) return;
    if (line.next === 0) {
      const before = new Set(history.filter((e) => e.stream_seq < line.probeStreamSeq!).map((e) => e.seq));
      line.next = 1;
      while (before.has(line.next)) line.next++;
      for (const seq of line.held.keys()) if (seq < line.next) line.held.delete(seq);
    }
    const known = new Map(history.map((e) => [e.seq, e]));
    const first = line.held.get(line.next) ?? known.get(line.next);
    if (first) this.releaseRun(taskId, line, first, known);
    if (line.held.size === 0) {
      line.waitingSince = undefined;
      line.attempts = 0;
    } else if (!line.timer) this.schedule(taskId, line);
  }

  private giveUp(taskId: string, line: Line, reason: string): void {
    clearTimeout(line.timer);
    line.timer = undefined;
    const seqs = [...line.held.keys()].sort((a, b) => a - b);
    this.options.logger.warn("task events sent with a gap", { task_id: taskId, missing_from: line.next, sent_from: seqs[0], reason });
    for (const seq of seqs) {
      for (let missing = Math.max(line.next, 1); missing < seq && (line.skipped?.size ?? 0) < MAX_SKIPPED; missing++) (line.skipped ??= new Set()).add(missing);
      const event = line.held.get(seq)!;
      line.held.delete(seq);
      line.next = seq + 1;
      this.options.release(event);
    }
    line.waitingSince = undefined;
    line.attempts = 0;
  }

  private forgetOldest(): void {
    if (this.lines.size <= this.options.maxTasks) return;
    const [taskId, line] = this.lines.entries().next().value as [string, Line];
    if (line.held.size > 0) this.giveUp(taskId, line, "too many tasks tracked");
    this.lines.delete(taskId);
  }

  private async slot(): Promise<void> {
    if (this.fills >= MAX_CONCURRENT_FILLS) await new Promise<void>((resolve) => this.waitingFills.push(resolve));
    this.fills++;
  }
}
