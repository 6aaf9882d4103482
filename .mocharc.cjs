module.exports = {
  reporter: "./scripts/mocha-reporter.cjs",
  timeout: 30000,
  slow: 2000,
};
