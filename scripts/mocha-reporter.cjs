// Mocha's spec output, closed by the one summary line CI reads: "N passed, N failed, N skipped".
const Mocha = require("mocha");
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = runner.stats ?? {};
      // Kept so that anything printed after the run (scripts/mocha-leaks.cjs) can end with it again.
      globalThis.meridianSummaryLine = `${passes} passed, ${failures} failed, ${pending} skipped`;
      process.stdout.write(`\n${globalThis.meridianSummaryLine}\n`);
    });
  }
}
module.exports = SummaryReporter;
