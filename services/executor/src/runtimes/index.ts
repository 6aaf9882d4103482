import type { AgentRuntime } from "@meridian/contracts";
import { echoRuntime } from "./echo.runtime.js";
import { httpRuntime } from "./http.runtime.js";
import type { Runtime } from "./runtime.js";
import { sleepRuntime } from "./sleep.runtime.js";

export { RuntimeError, type Runtime, type RunContext } from "./runtime.js";
export { echoRuntime } from "./echo.runtime.js";
export { sleepRuntime } from "./sleep.runtime.js";
export { AgentRequestHeaders, httpRuntime, type HttpRuntimeOptions } from "./http.runtime.js";
export { AllowList, assertAllowedTarget, isBlockedAddress } from "./url-guard.js";

/** The runtimes this executor runs in-process; `sdk` agents run in their own processes. Throws on a bad allow-list. */
export function builtInRuntimes(opts: { httpAllowList: string[] }): Partial<Record<AgentRuntime, Runtime>> {
  return {
    echo: echoRuntime,
    sleep: sleepRuntime,
    http: httpRuntime({ allowList: opts.httpAllowList }),
  };
}
