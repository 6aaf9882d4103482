// a) durable tasks one per request, b) batches of 100, both through the gateway, to their final state.
import type { Subscription } from "@nats-io/transport-node";
import { FinalTaskStatuses, type TaskEvent } from "@meridian/contracts";
import { uniqueName } from "@meridian/service-kit/testing";
import { http } from "../../support/http.js";
import { closedLoop, openLoop, until } from "../lib/load.js";
import type { Figure } from "../lib/report.js";
import { perSecond, summarize } from "../lib/stats.js";
import { BATCH_SIZE, BATCHES_IN_FLIGHT, DRAIN_TIMEOUT_MS, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, type BenchContext } from "./context.js";

/** Counts the owner's tasks reaching a final state, per agent, from the task events on core NATS. */
class FinalStates {
  private readonly counts = new Map<string, { succeeded: number; other: number; duplicates: number; lastAt: number }>();
  private readonly finished = new Set<string>();
  private readonly sub: Subscription;

  constructor(ctx: BenchContext) {
    this.sub = ctx.nc.subscribe(`meridian.events.task.${ctx.ownerId}.>`, {
      callback: (_err, msg) => {
        if (!msg) return;
        const event = msg.json<TaskEvent>();
        if (!(FinalTaskStatuses as readonly string[]).includes(event.type)) return;
        const c = this.of(event.agent);
        if (this.finished.has(event.task_id)) {
          c.duplicates++;
          return;
        }
        this.finished.add(event.task_id);
        if (event.type === "succeeded") c.succeeded++;
        else c.other++;
        c.lastAt = Date.now();
      },
    });
  }

  of(agent: string) {
    let c = this.counts.get(agent);
    if (!c) this.counts.set(agent, (c = { succeeded: 0, other: 0, duplicates: 0, lastAt: 0 }));
    return c;
  }

  /** Waits until `n` tasks of `agent` are final; the wall-clock time of the last one. */
  async reached(agent: string, n: number): Promise<{ succeeded: number; other: number; duplicates: number; lastAt: number; complete: boolean }> {
    const c = this.of(agent);
    const complete = await until(() => c.succeeded + c.other >= n, DRAIN_TIMEOUT_MS, 2);
    return { ...c, complete };
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

async function echoAgent(ctx: BenchContext): Promise<string> {
  const name = uniqueName("bench").toLowerCase();
  const res = await http(ctx.gatewayUrl, "POST", "/api/v1/agents", { token: ctx.token, body: { name, runtime: "echo", concurrency: 100 } });
  if (res.status !== 201) throw new Error(`create agent answered ${res.status}: ${res.text.slice(0, 200)}`);
  return name;
}

function submitter(ctx: BenchContext, agent: string) {
  return async (i: number) => {
    const res = await http(ctx.gatewayUrl, "POST", "/api/v1/tasks", { token: ctx.token, body: { agent, input: { i } } });
    if (res.status !== 202) throw new Error(`POST /api/v1/tasks answered ${res.status}: ${res.text.slice(0, 200)}`);
  };
}

const finalNote = (f: { succeeded: number; other: number; duplicates: number; complete: boolean }, accepted: number) =>
  `${f.succeeded}/${accepted} succeeded${f.other ? `, ${f.other} other final` : ""}${f.duplicates ? `, ${f.duplicates} final events seen twice` : ""}${f.complete ? "" : ", drain timed out"}`;

export async function meridianTasks(ctx: BenchContext): Promise<Figure[]> {
  const finals = new FinalStates(ctx);
  try {
    const agent = await echoAgent(ctx);
    await closedLoop(20, 10, PHASE_DEADLINE_MS, submitter(ctx, agent)); // warm-up: connections, caches, JIT
    await finals.reached(agent, 20);

    const measured = await echoAgent(ctx);
    const total = Math.round(2000 * ctx.scale);
    const t0 = Date.now();
    const load = await closedLoop(total, JOBS_IN_FLIGHT, PHASE_DEADLINE_MS, submitter(ctx, measured));
    if (load.done === 0) throw new Error(load.firstError ?? "no task accepted");
    const final = await finals.reached(measured, load.done);
    const submit = summarize(load.latenciesMs);
    const note = `${load.done} tasks, ${JOBS_IN_FLIGHT} in flight; ${finalNote(final, load.done)}${load.failed ? `; ${load.failed} refused: ${load.firstError}` : ""}`;
    const figures: Figure[] = [
      { id: "tasks", scenario: "a) Meridian tasks", metric: "submit → succeeded", value: perSecond(final.succeeded, final.lastAt - t0), unit: "tasks/s", note },
      { scenario: "a) Meridian tasks", metric: "accepted (202)", value: perSecond(load.done, load.elapsedMs), unit: "tasks/s" },
      { scenario: "a) Meridian tasks", metric: "submit p50", value: submit.p50, unit: "ms" },
      { scenario: "a) Meridian tasks", metric: "submit p99", value: submit.p99, unit: "ms" },
    ];

    const pacedAgent = await echoAgent(ctx);
    const rate = 200;
    const seconds = 5 * ctx.scale;
    const paced = await openLoop(rate, seconds, 1000, submitter(ctx, pacedAgent));
    const pacedFinal = await finals.reached(pacedAgent, paced.done);
    const pacedSummary = summarize(paced.latenciesMs);
    const pacedNote = `${paced.done} tasks over ${seconds} s${paced.skipped ? `, ${paced.skipped} not sent (1000 in flight)` : ""}${paced.failed ? `, ${paced.failed} refused: ${paced.firstError}` : ""}; ${finalNote(pacedFinal, paced.done)}`;
    figures.push(
      { id: "tasksPacedP99", scenario: "a) Meridian tasks", metric: `submit p99 at ${rate}/s`, value: pacedSummary.p99, unit: "ms", note: pacedNote },
      { scenario: "a) Meridian tasks", metric: `submit p50 at ${rate}/s`, value: pacedSummary.p50, unit: "ms" },
    );
    return figures;
  } finally {
    finals.close();
  }
}

interface BatchReply { items?: Array<{ status: number }> }

export async function meridianBatch(ctx: BenchContext): Promise<Figure[]> {
  const finals = new FinalStates(ctx);
  try {
    const agent = await echoAgent(ctx);
    const batch = (i: number) => ({ tasks: Array.from({ length: BATCH_SIZE }, (_, j) => ({ agent, input: { i: i * BATCH_SIZE + j } })) });
    const probe = await http<BatchReply>(ctx.gatewayUrl, "POST", "/api/v1/tasks/batch", { token: ctx.token, body: batch(-1) });
    if (probe.status === 404) {
      const na = "n/a (route missing)";
      return [
        { id: "batch", scenario: "b) Meridian batch", metric: "accepted", unit: "tasks/s", note: na },
        { scenario: "b) Meridian batch", metric: "submit → succeeded", unit: "tasks/s", note: na },
      ];
    }
    if (probe.status !== 202) throw new Error(`POST /api/v1/tasks/batch answered ${probe.status}: ${probe.text.slice(0, 200)}`);
    await finals.reached(agent, BATCH_SIZE);

    const measured = await echoAgent(ctx);
    const calls = Math.round(20 * ctx.scale);
    let accepted = 0;
    let refusedItems = 0;
    const t0 = Date.now();
    const load = await closedLoop(calls, BATCHES_IN_FLIGHT, PHASE_DEADLINE_MS, async (i) => {
      const res = await http<BatchReply>(ctx.gatewayUrl, "POST", "/api/v1/tasks/batch", {
        token: ctx.token,
        body: { tasks: batch(i).tasks.map((t) => ({ ...t, agent: measured })) },
      });
      if (res.status !== 202) throw new Error(`POST /api/v1/tasks/batch answered ${res.status}: ${res.text.slice(0, 200)}`);
      const ok = (res.body.items ?? []).filter((item) => item.status === 202).length;
      accepted += ok;
      refusedItems += BATCH_SIZE - ok;
    });
    if (accepted === 0) throw new Error(load.firstError ?? "no task accepted");
    const final = await finals.reached(measured, accepted);
    const calls202 = summarize(load.latenciesMs);
    const note = `${load.done} calls × ${BATCH_SIZE}, ${BATCHES_IN_FLIGHT} in flight; call p50 ${calls202.p50.toFixed(0)} ms, p99 ${calls202.p99.toFixed(0)} ms${refusedItems ? `; ${refusedItems} items refused` : ""}${load.failed ? `; ${load.failed} calls failed: ${load.firstError}` : ""}`;
    return [
      { id: "batch", scenario: "b) Meridian batch", metric: "accepted", value: perSecond(accepted, load.elapsedMs), unit: "tasks/s", note },
      { id: "batchFinal", scenario: "b) Meridian batch", metric: "submit → succeeded", value: perSecond(final.succeeded, final.lastAt - t0), unit: "tasks/s", note: finalNote(final, accepted) },
    ];
  } finally {
    finals.close();
  }
}
