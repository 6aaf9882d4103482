import type { Runtime } from "./runtime.js";

/** Answers the task's input unchanged. */
export const echoRuntime: Runtime = async (ctx) => {
  ctx.signal.throwIfAborted();
  return ctx.input;
};
