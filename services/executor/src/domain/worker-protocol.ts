import { nanos } from "@nats-io/transport-node";
import {
  MeridianError,
  Streams,
  taskConsumerName,
  TaskQueueMessageSchema,
  validate,
  type AttemptRef,
  type AttemptReply,
  type ClaimReply,
  type ClaimRequest,
  type CompleteRequest,
  type LogRequest,
  type ProgressRequest,
} from "@meridian/contracts";
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { unclaimable, type Acker } from "../queue/attempt.js";
import { ensureAgentConsumerOnce } from "../queue/task-queue.js";
import * as store from "../store/task.store.js";
import type { ExecutorDeps } from "./deps.js";
import { capText, decideOutcome, type AttemptOutcome } from "./outcome.js";

/** The message's ack subject (JsMsgImpl exposes it; the JsMsg interface does not). */
const ackSubjectOf = (msg: JsMsg) => (msg as unknown as { reply: string }).reply;

/**
 * The executor's side of the worker protocol: SDK agents claim, heartbeat, report and complete their
 * attempts over NATS, and every write is the same fenced statement the built-in runtimes use. The queue
 * message stays unacknowledged while the worker holds the attempt (so max_ack_pending still holds the
 * agent's concurrency); any replica settles it through its ack subject, the `receipt`.
 */
export function workerProtocol(deps: ExecutorDeps, executorId: string) {
  const consumers = new Map<string, Promise<Consumer>>();
  const consumerOf = (agentId: string) => {
    let c = consumers.get(agentId);
    if (!c) {
      c = deps.js.consumers.get(Streams.tasks.name, taskConsumerName(agentId));
      c.catch(() => consumers.delete(agentId));
      consumers.set(agentId, c);
    }
    return c;
  };

  /** The receipt must be an ack subject of this agent's own queue consumer. */
  const ackerFor = (agentId: string, receipt: string): Acker => {
    if (!receipt.startsWith("$JS.ACK.") || !receipt.includes(`.${taskConsumerName(agentId)}.`)) {
      throw new MeridianError("FORBIDDEN", "The receipt does not belong to this agent's queue");
    }
    return {
      ack: () => deps.nc.publish(receipt, "+ACK"),
      nak: (millis) => deps.nc.publish(receipt, millis ? `-NAK ${JSON.stringify({ delay: nanos(millis) })}` : "-NAK"),
      working: () => deps.nc.publish(receipt, "+WPI"),
      term: () => deps.nc.publish(receipt, "+TERM"),
    };
  };

  const fenceOf = (agentId: string, ref: AttemptRef): store.Fence => ({
    id: ref.task_id,
    generation: ref.generation,
    attempt: ref.attempt,
    executorId: `sdk:${ref.worker_id}`,
    agentId,
  });

  async function sdkAgent(agentId: string) {
    const agent = await deps.agents.byIdOrUndefined(agentId);
    if (!agent) throw new MeridianError("NOT_FOUND", "No such agent");
    if (agent.runtime !== "sdk") throw new MeridianError("FORBIDDEN", "Only agents with the sdk runtime are run by workers");
    return agent;
  }

  return {
    async claim(agentId: string, req: ClaimRequest): Promise<ClaimReply> {
      const agent = await sdkAgent(agentId);
      await ensureAgentConsumerOnce(deps.jsm, { agentId, concurrency: agent.concurrency, ackWaitMs: deps.ackWaitMs });
      const consumer = await consumerOf(agentId);
      const deadline = Date.now() + req.wait_ms;
      do {
        const msg = await consumer.next({ expires: Math.max(1000, deadline - Date.now()) });
        if (!msg) break;
        const { value: message, problems } = validate(TaskQueueMessageSchema, msg.json());
        if (problems) {
          msg.term("invalid message");
          continue;
        }
        try {
          const [claimed] = await deps.claims.add([{
            id: message.task_id,
            generation: message.generation,
            attempt: message.attempt,
            executorId: `sdk:${req.worker_id}`,
            leaseMs: deps.ackWaitMs,
            data: { executor: executorId, worker: req.worker_id, agent_version: agent.version },
          }]);
          if (!claimed) {
            await unclaimable(deps, msg, message);
            continue;
          }
          void deps.relay.publishEvent(claimed.event);
          const { task } = claimed;
          return {
            task: {
              task_id: task.id,
              attempt: message.attempt,
              generation: task.generation,
              input: task.input,
              timeout_ms: task.timeout_ms,
              correlation_id: task.correlation_id,
              heartbeat_ms: Math.max(250, Math.min(1000, Math.floor(deps.ackWaitMs / 3))),
              agent: { id: agent.id, name: agent.name, version: agent.version },
              receipt: ackSubjectOf(msg),
            },
          };
        } catch (err) {
          msg.nak(1000);
          throw err;
        }
      } while (Date.now() < deadline);
      return { task: null };
    },

    /** Keeps the lease and the message; `ok: false` once the attempt was cancelled or taken back. */
    async heartbeat(agentId: string, ref: AttemptRef): Promise<AttemptReply> {
      const acker = ackerFor(agentId, ref.receipt);
      const ok = await store.renewLease(deps.db, fenceOf(agentId, ref), deps.ackWaitMs);
      if (ok) acker.working();
      return { ok };
    },

    async progress(agentId: string, req: ProgressRequest): Promise<AttemptReply> {
      ackerFor(agentId, req.receipt);
      const data = { fraction: req.fraction, ...(req.message ? { message: capText(req.message, deps.limits.maxLogChars) } : {}) };
      const event = await store.recordSideEvent(deps.db, fenceOf(agentId, req), "progress", data);
      if (event) void deps.relay.publishEvent(event);
      return { ok: event !== undefined };
    },

    async log(agentId: string, req: LogRequest): Promise<AttemptReply> {
      ackerFor(agentId, req.receipt);
      const line = { level: req.level, message: capText(req.message, deps.limits.maxLogChars) };
      const event = await store.recordSideEvent(deps.db, fenceOf(agentId, req), "log", line, line);
      if (event) void deps.relay.publishEvent(event);
      return { ok: event !== undefined };
    },

    async complete(agentId: string, req: CompleteRequest): Promise<AttemptReply> {
      const acker = ackerFor(agentId, req.receipt);
      const task = await store.findTask(deps.db, req.task_id);
      if (!task || task.agent_id !== agentId) throw new MeridianError("NOT_FOUND", "Task not found");
      let outcome: AttemptOutcome;
      if (req.timed_out) outcome = { kind: "aborted", reason: "timeout" };
      else if (req.error) {
        outcome = {
          kind: "error",
          error: { code: "AGENT_ERROR", message: capText(req.error.message, 2000), retryable: req.error.retryable ?? true, ...(req.error.detail ? { detail: req.error.detail } : {}) },
        };
      } else outcome = { kind: "result", value: req.result ?? null, bytes: Buffer.byteLength(JSON.stringify(req.result ?? null)) };
      const decision = decideOutcome({ ...task, attempt: req.attempt }, outcome, deps.limits, `/api/v1/tasks/${task.id}`);
      const fence = fenceOf(agentId, req);
      const settled =
        decision && (decision.status === "released" ? await store.settleAttempt(deps.db, fence, decision) : (await deps.settles.add([{ fence, settlement: decision }]))[0]);
      if (!settled) {
        await unclaimable(deps, acker, { task_id: req.task_id, generation: req.generation, attempt: req.attempt });
        return { ok: false };
      }
      if (decision.status === "queued") await deps.relay.publishQueueMessage(settled.task);
      acker.ack();
      if (settled.event) void deps.relay.publishEvent(settled.event);
      deps.logger.info(`task ${decision.status === "released" ? "released" : decision.event}`, { task_id: task.id, attempt: req.attempt, worker: req.worker_id });
      return { ok: true };
    },
  };
}
export type WorkerProtocol = ReturnType<typeof workerProtocol>;
