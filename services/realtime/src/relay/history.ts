import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type MsgRequest } from "@nats-io/jetstream";
import { Streams, taskEventFilter, taskEventSubject, type RelayedTaskEvent, type TaskEvent } from "@meridian/contracts";

/** Events read one request each before a long history switches to a consumer. */
export const DIRECT_READS = 64;
const BATCH = 500;

/**
 * One task's events as the stream still keeps them, in stream order, with their stream sequence. Read with
 * `STREAM.MSG.GET next_by_subj`, one request per event and no consumer: creating and deleting a consumer per
 * `subscribe { since }` loads the JetStream API, and a flood of them made every other JetStream call time out.
 * The task's subject has its owner in it: given the owner, every read is by that literal subject (indexed per
 * subject by the server); without it, the first read finds it by wildcard. A
 * history longer than {@link DIRECT_READS} (a chatty task) is read on from there by one short-lived consumer.
 */
export async function taskHistory(js: JetStreamClient, jsm: JetStreamManager, taskId: string, ownerId?: string): Promise<RelayedTaskEvent[]> {
  const events: RelayedTaskEvent[] = [];
  let subject = ownerId ? taskEventSubject(ownerId, taskId) : taskEventFilter(taskId);
  let seq = 0;
  for (let reads = 0; reads < DIRECT_READS; reads++) {
    // The API takes next_by_subj since nats-server 2.9 (the client types it for direct gets only).
    const msg = await jsm.streams.getMessage(Streams.taskEvents.name, { seq: seq + 1, next_by_subj: subject } as MsgRequest);
    if (!msg) return events;
    events.push({ ...msg.json<TaskEvent>(), stream_seq: msg.seq });
    subject = msg.subject;
    seq = msg.seq;
  }
  return [...events, ...(await readOn(js, subject, seq + 1))];
}

async function readOn(js: JetStreamClient, subject: string, fromSeq: number): Promise<RelayedTaskEvent[]> {
  // A single filter subject (not a list) keeps this working on nats-server 2.9.
  const consumer = await js.consumers.get(Streams.taskEvents.name, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
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
