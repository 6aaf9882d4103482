import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { isFinalStatus, Streams, taskEventSubject, type TaskEvent, type TaskStatus } from "@meridian/contracts";

/** Every event of every task of one owner, from the stream, grouped by task in stream order. */
export async function ownerEvents(nc: NatsConnection, ownerId: string): Promise<Map<string, TaskEvent[]>> {
  // The 2.9 server takes one filter subject as a string.
  const consumer = await jetstream(nc).consumers.get(Streams.taskEvents.name, {
    filter_subjects: taskEventSubject(ownerId, ">"),
    deliver_policy: DeliverPolicy.All,
  });
  const byTask = new Map<string, TaskEvent[]>();
  let pending = (await consumer.info()).num_pending;
  while (pending > 0) {
    const msg = await consumer.next({ expires: 2000 });
    if (!msg) break;
    const event = msg.json<TaskEvent>();
    byTask.set(event.task_id, [...(byTask.get(event.task_id) ?? []), event]);
    pending = msg.info.pending;
  }
  await consumer.delete().catch(() => undefined);
  return byTask;
}

/** Problems with one task's history: seq 1..n without gap or repeat, exactly one terminal event, and it is a success. */
export function historyProblems(id: string, events: TaskEvent[]): string[] {
  const problems: string[] = [];
  const seqs = events.map((e) => e.seq).sort((a, b) => a - b);
  if (seqs.some((s, i) => s !== i + 1)) problems.push(`${id}: seqs ${seqs.join(",")}`);
  const terminal = events.filter((e) => isFinalStatus(e.type as TaskStatus));
  if (terminal.length !== 1 || terminal[0]!.type !== "succeeded") problems.push(`${id}: terminal events ${terminal.map((e) => e.type).join(",") || "none"}`);
  return problems;
}
