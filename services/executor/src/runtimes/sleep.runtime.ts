import type { SleepAgentConfig } from "@meridian/contracts";
import { RuntimeError, type Runtime, type RunContext } from "./runtime.js";

const MAX_MS = 600_000;
const DEFAULT_MS = 1000;
const MIN_PROGRESS_INTERVAL_MS = 50;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function validMs(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= MAX_MS;
}

function durationOf(ctx: RunContext, input: Record<string, unknown>): number {
  if (validMs(input.ms)) return input.ms;
  if (input.ms !== undefined) ctx.log(`ignoring input.ms: not a number of milliseconds from 0 to ${MAX_MS}`, "warn");
  const configured = (ctx.agent.config as SleepAgentConfig).ms;
  return validMs(configured) ? configured : DEFAULT_MS;
}

function sleep(ms: number, ctx: RunContext): Promise<void> {
  const { signal } = ctx;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const started = Date.now();
    const report = (fraction: number) => ctx.progress(fraction, `slept ${Math.round(fraction * ms)} of ${ms} ms`);
    const ticker = setInterval(() => report(Math.min((Date.now() - started) / ms, 1)), Math.max(ms / 10, MIN_PROGRESS_INTERVAL_MS));
    const done = setTimeout(() => {
      cleanup();
      report(1);
      resolve();
    }, ms);
    const onAbort = () => {
      cleanup();
      reject(signal.reason);
    };
    const cleanup = () => {
      clearInterval(ticker);
      clearTimeout(done);
      signal.removeEventListener("abort", onAbort);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits `input.ms`, else the agent's `config.ms`, else one second, reporting progress. With `input.fail: true` it
 * fails after sleeping, retryably unless `input.retryable` is false: a stand-in for flaky work in tests.
 */
export const sleepRuntime: Runtime = async (ctx) => {
  const input = isRecord(ctx.input) ? ctx.input : {};
  const ms = durationOf(ctx, input);
  await sleep(ms, ctx);
  if (input.fail === true) throw new RuntimeError("asked to fail", input.retryable !== false, { slept_ms: ms });
  return { slept_ms: ms };
};
