import { DeliverPolicy } from "@nats-io/jetstream";
import { Streams, taskEventFilter, type RelayedTaskEvent, type TaskEvent } from "@meridian/contracts";
import type { JetStreamClient } from "@meridian/service-kit";

const BATCH = 500;

/** One task's events as the stream still keeps them, in stream order, with their stream sequence. */
export async function taskHistory(js: JetStreamClient, taskId: string): Promise<RelayedTaskEvent[]> {
  // A single filter subject (not a list) keeps this working on nats-server 2.9.
  const consumer = await js.consumers.get(Streams.taskEvents.name, {
    filter_subjects: taskEventFilter(taskId),
    deliver_policy: DeliverPolicy.All,
  });
  const events: RelayedTaskEvent[] = [];
  try {
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      let got = 0;
      for await (const msg of await consumer.fetch({ max_messages: Math.min(pending, BATCH), expires: 2000 })) {
        events.push({ ...msg.json<TaskEvent>(), stream_seq: msg.seq });
        pending = msg.info.pending;
        got++;
      }
      if (got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return events;
}
