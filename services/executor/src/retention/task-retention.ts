import { Streams, taskConsumerName } from "@meridian/contracts";
import type { JetStreamManager, Logger, PruneStep } from "@meridian/service-kit";
import type { AgentDirectory } from "../domain/agent-directory.js";
import { agentQueues, forgetAgentConsumer } from "../queue/task-queue.js";

export const RETENTION_LOCK = "meridian.executor.retention";

/**
 * Finished tasks older than the retention, with their logs and unsent outbox rows (foreign keys cascade).
 * Only final statuses with a finish time, and only what the analytics rollup has already counted: a queued or
 * running task is never touched. The idempotency key lives on the task row, so it holds as long as the task.
 */
export function finishedTasksStep(retentionDays: number): PruneStep {
  return {
    name: "tasks",
    async run(client, batchSize) {
      const { rowCount } = await client.query(
        `delete from tasks where id in (
           select id from tasks
           where finished_at < now() - make_interval(days => $1)
             and status in ('succeeded', 'failed', 'cancelled', 'timed_out', 'dead_lettered')
             and finished_at < coalesce((select at from analytics_state where key = 'rollup'), '-infinity'::timestamptz)
           order by finished_at limit $2 for update skip locked)`,
        [retentionDays, batchSize],
      );
      return rowCount ?? 0;
    },
  };
}

/**
 * Queue consumers (`executor-<agent id>`) of agents the registry reports deleted, once nothing is waiting or
 * in flight on them and no task of theirs is active. A registry that does not answer removes nothing.
 */
export function deletedAgentConsumersStep(deps: { jsm: JetStreamManager; agents: AgentDirectory; logger: Logger }): PruneStep {
  return {
    name: "consumers",
    async run(client) {
      let removed = 0;
      for (const q of await agentQueues(deps.jsm)) {
        if (q.pending !== 0 || q.ackPending !== 0) continue;
        const agent = await deps.agents.byIdOrUndefined(q.agentId).catch(() => "unknown" as const);
        if (agent === "unknown") return removed;
        if (agent) continue;
        const { rows } = await client.query("select 1 from tasks where agent_id = $1 and status in ('queued', 'running') limit 1", [q.agentId]);
        if (rows.length) continue;
        await deps.jsm.consumers.delete(Streams.tasks.name, taskConsumerName(q.agentId)).catch((err: unknown) => {
          deps.logger.warn("consumer of a deleted agent not removed", { agent_id: q.agentId, error: (err as Error).message });
        });
        forgetAgentConsumer(deps.jsm, q.agentId);
        removed++;
      }
      return removed;
    },
  };
}
