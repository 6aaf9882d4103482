/** What an SDK agent process embeds: the executor's runner, configured for one agent. */
export { loadExecutorConfig, type ExecutorConfig } from "./config.js";
export { migrate, start, type RunningExecutor, type StartOptions } from "./service.js";
export { RuntimeError, type RunContext, type Runtime } from "./runtimes/runtime.js";
