module.exports = {
  spec: ["libs/*/dist/test/**/*.test.js", "services/*/dist/test/**/*.test.js", "tests/dist/**/*.test.js"],
  reporter: "./scripts/mocha-reporter.cjs",
  timeout: 20000,
  slow: 1000,
};
