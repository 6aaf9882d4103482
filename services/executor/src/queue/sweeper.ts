import type { ExecutorDeps } from "../domain/deps.js";
import { cancelTasksOfDeletedAgent } from "../domain/tasks.js";
import { rollUp } from "../store/analytics.store.js";
import * as store from "../store/task.store.js";
import type { AttemptRunner } from "./attempt.js";
import { agentQueues, ensureAgentConsumer } from "./task-queue.js";
import type { WorkerPool } from "./worker-pool.js";

/** An event or queue message unconfirmed for this long was left behind; younger ones are normally in flight. */
const OUTBOX_GRACE_MS = 5000;
/** A queued, due task whose agent's queue holds no message at all for this long has lost its message. */
const LOST_MESSAGE_GRACE_MS = 5000;
/** Analytics fold tasks up to this long ago into the hourly rollups (rows still committing are not skipped). */
const ROLLUP_LAG_MS = 2000;
const ROLLUP_EVERY_MS = 5000;

/**
 * Puts right what crashes and outages leave behind, every few seconds, on every replica (each step is
 * fenced or idempotent, so replicas may overlap): pullers for every agent with a queue; consumers for
 * agents with active tasks; queue messages and events the stream never confirmed; running tasks whose
 * lease ran out (back on the queue, or dead-lettered); queued tasks whose message is gone.
 */
export class Sweeper {
  private lastRollup = 0;

  constructor(
    private readonly deps: ExecutorDeps,
    private readonly pool: WorkerPool,
    private readonly attempts: AttemptRunner,
  ) {}

  async sweep(): Promise<void> {
    const { deps } = this;
    const queues = await agentQueues(deps.jsm);
    const queued = new Set(queues.map((q) => q.agentId));

    // Pull every agent this replica can run; agents of a runtime it lacks (sdk) are served elsewhere.
    const served = new Set<string>();
    let registryProblem: string | undefined;
    for (const q of queues) {
      // One failed lookup says the registry is away: the rest of this sweep does without it.
      const agent = registryProblem ? ("unknown" as const) : await deps.agents.byIdOrUndefined(q.agentId).catch((err: unknown) => {
        registryProblem = `agent-registry: ${(err as Error).message}`;
        return "unknown" as const;
      });
      if (agent === "unknown") {
        if (this.pool.has(q.agentId)) served.add(q.agentId);
        continue;
      }
      if (!agent) {
        await cancelTasksOfDeletedAgent(deps, q.agentId);
        continue;
      }
      if (!this.attempts.runtimeFor(agent)) continue;
      if (agent.concurrency !== q.concurrency) await ensureAgentConsumer(deps.jsm, { agentId: agent.id, concurrency: agent.concurrency, ackWaitMs: deps.ackWaitMs });
      this.pool.ensure(agent.id, agent.concurrency);
      served.add(agent.id);
    }
    this.pool.retain(served);

    // Active tasks whose agent has no consumer (removed behind our back, or never created before a crash).
    for (const agentId of await store.activeAgentIds(deps.db)) {
      if (queued.has(agentId)) continue;
      const agent = registryProblem ? ("unknown" as const) : await deps.agents.byIdOrUndefined(agentId).catch((err: unknown) => {
        registryProblem = `agent-registry: ${(err as Error).message}`;
        return "unknown" as const;
      });
      if (agent === "unknown") continue;
      if (!agent) await cancelTasksOfDeletedAgent(deps, agentId);
      else await ensureAgentConsumer(deps.jsm, { agentId, concurrency: agent.concurrency, ackWaitMs: deps.ackWaitMs });
    }

    for (const task of await store.unpublishedTasks(deps.db, OUTBOX_GRACE_MS)) {
      deps.logger.info("publishing an unconfirmed queue message", { task_id: task.id, correlation_id: task.correlation_id });
      await deps.relay.publishQueueMessage(task);
    }

    const swept = await store.sweepExpiredLeases(deps.db, deps.ackWaitMs);
    for (const { task, event } of swept) {
      deps.logger.warn("lease expired; task taken back", { task_id: task.id, attempt: task.attempts, outcome: event.type, correlation_id: task.correlation_id });
      if (event.type === "retrying") await deps.relay.publishQueueMessage(task);
      await deps.relay.publishEvent(event);
    }

    // A queue with nothing waiting and nothing in flight cannot hold the message of a due queued task.
    const idle = queues.filter((q) => q.pending === 0 && q.ackPending === 0).map((q) => q.agentId);
    for (const task of await store.dueQueuedTasks(deps.db, idle, LOST_MESSAGE_GRACE_MS)) {
      deps.logger.warn("queued task had no queue message; published again", { task_id: task.id, correlation_id: task.correlation_id });
      await deps.relay.publishQueueMessage(task, { msgIdSuffix: `:r${Date.now()}` });
    }

    if (Date.now() - this.lastRollup >= ROLLUP_EVERY_MS) {
      await rollUp(deps.db, ROLLUP_LAG_MS);
      this.lastRollup = Date.now();
    }

    const republished = await deps.relay.republishStale(OUTBOX_GRACE_MS);
    if (republished) deps.logger.info("republished task events from the outbox", { count: republished });
    await deps.relay.flush();
    // Everything else was repaired; readiness still says we cannot run tasks of agents we cannot look up.
    if (registryProblem) throw new Error(registryProblem);
  }
}
