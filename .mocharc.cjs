module.exports = {
  reporter: "./scripts/mocha-reporter.cjs",
  // Names timers left running after the last test (with where they were made) and ends the run instead of hanging.
  require: ["./scripts/mocha-leaks.cjs"],
  timeout: 30000,
  slow: 2000,
};
