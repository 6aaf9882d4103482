// A test run must end by itself: every suite stops what it started. When a run has finished but timers are still
// holding the process open (something was not stopped), this names them, with where each was created, and ends the
// process with mocha's exit code, so a leak shows up in the log instead of hanging CI.
const asyncHooks = require("node:async_hooks");

const GRACE_MS = 15_000;
const timers = new Map();

asyncHooks
  .createHook({
    init(id, type, _trigger, resource) {
      if (type === "Timeout") timers.set(id, { resource, stack: new Error("created").stack });
    },
    destroy(id) {
      timers.delete(id);
    },
  })
  .enable();

exports.mochaHooks = {
  afterAll() {
    setTimeout(() => {
      const held = [...timers.values()].filter(({ resource }) => typeof resource.hasRef === "function" && resource.hasRef());
      process.stderr.write(`\nleak: the run ended ${GRACE_MS / 1000} s ago but ${held.length} timer(s) still hold the process:\n`);
      for (const { stack } of held.slice(0, 10)) process.stderr.write(`${stack.split("\n").slice(2, 12).join("\n")}\n---\n`);
      // The run's summary stays the last line of the output.
      if (globalThis.meridianSummaryLine) process.stdout.write(`\n${globalThis.meridianSummaryLine}\n`);
      process.exit(process.exitCode ?? 0);
    }, GRACE_MS).unref();
  },
};
