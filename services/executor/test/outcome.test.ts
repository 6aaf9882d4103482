import { expect } from "chai";
import { capText, decideOutcome, retryDelay, type AttemptFacts } from "../src/domain/outcome.js";

const facts = (over: Partial<AttemptFacts> = {}): AttemptFacts => ({ attempt: 1, max_attempts: 3, timeout_ms: 5000, backoff_ms: [100, 500], ...over });
const limits = { maxResultBytes: 1000, inlineResultBytes: 100 };
const url = "/api/v1/tasks/t";

describe("executor domain: the outcome policy", () => {
  it("when a run returns a small result, then succeeded with the result in the event", () => {
    expect(decideOutcome(facts(), { kind: "result", value: { a: 1 }, bytes: 7 }, limits, url)).to.deep.equal({
      status: "succeeded",
      result: { a: 1 },
      event: "succeeded",
      data: { result: { a: 1 } },
    });
  });

  it("when a result is over the inline limit, then the event carries its size and a reference", () => {
    const d = decideOutcome(facts(), { kind: "result", value: "x".repeat(200), bytes: 202 }, limits, url);
    expect(d).to.deep.include({ status: "succeeded", data: { result_bytes: 202, result_ref: url } });
  });

  it("when a result is over the hard limit, then failed for good with RESULT_TOO_LARGE", () => {
    const d = decideOutcome(facts(), { kind: "result", value: "x", bytes: 1001 }, limits, url);
    expect(d).to.deep.include({ status: "failed", event: "failed" });
    expect(d && "error" in d && d.error).to.deep.include({ code: "RESULT_TOO_LARGE", retryable: false });
  });

  it("when a retryable error has attempts left, then queued again after the attempt's backoff", () => {
    const error = { code: "AGENT_ERROR", message: "boom", retryable: true };
    expect(decideOutcome(facts({ attempt: 1 }), { kind: "error", error }, limits, url)).to.deep.include({ status: "queued", retryInMs: 100, event: "retrying" });
    expect(decideOutcome(facts({ attempt: 2 }), { kind: "error", error }, limits, url)).to.deep.include({ status: "queued", retryInMs: 500 });
  });

  it("when the last attempt fails, then dead-lettered with the attempt count", () => {
    const error = { code: "AGENT_ERROR", message: "boom", retryable: true };
    expect(decideOutcome(facts({ attempt: 3 }), { kind: "error", error }, limits, url)).to.deep.include({ status: "dead_lettered", data: { error, attempts: 3 } });
  });

  it("when an error is not retryable, then failed at once", () => {
    const error = { code: "AGENT_ERROR", message: "bad input", retryable: false };
    expect(decideOutcome(facts({ attempt: 1 }), { kind: "error", error }, limits, url)).to.deep.include({ status: "failed" });
  });

  it("when a run is aborted, then timeout → timed_out, shutdown → released, cancel → nothing to store", () => {
    expect(decideOutcome(facts(), { kind: "aborted", reason: "timeout" }, limits, url)).to.deep.include({ status: "timed_out", event: "timed_out" });
    expect(decideOutcome(facts(), { kind: "aborted", reason: "shutdown" }, limits, url)).to.deep.equal({ status: "released" });
    expect(decideOutcome(facts(), { kind: "aborted", reason: "cancelled" }, limits, url)).to.equal(null);
  });

  it("when attempts outnumber the backoff list, then its last value repeats", () => {
    expect(retryDelay({ attempt: 7, backoff_ms: [100, 500] })).to.equal(500);
    expect(retryDelay({ attempt: 1, backoff_ms: [] })).to.equal(1000);
  });

  it("when a text is too long, then it is cut and says so", () => {
    expect(capText("abc", 10)).to.equal("abc");
    const cut = capText("x".repeat(100), 40);
    expect(cut.length).to.be.at.most(40);
    expect(cut).to.match(/truncated\]$/);
  });
});
