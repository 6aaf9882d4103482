import { expect } from "chai";
import { EventBudget } from "../src/domain/event-budget.js";

describe("realtime: the per-socket event budget", () => {
  it("when a burst exceeds the bucket, then the excess is refused and enough refusals in a row are abuse", () => {
    const budget = new EventBudget(10, 3, 2, 0);
    expect([budget.take(0), budget.take(0), budget.take(0)]).to.deep.equal(["allow", "allow", "allow"]);
    expect(budget.take(0)).to.equal("refuse");
    expect(budget.take(0)).to.equal("abuse");
  });

  it("when time passes, then tokens come back at the configured rate and the refusal streak resets", () => {
    const budget = new EventBudget(10, 2, 3, 0);
    budget.take(0);
    budget.take(0);
    expect(budget.take(0)).to.equal("refuse");
    expect(budget.take(50)).to.equal("refuse");
    expect(budget.take(100)).to.equal("allow");
    expect(budget.take(100)).to.equal("refuse");
    expect(budget.take(100)).to.equal("refuse");
    expect(budget.take(10_000)).to.equal("allow");
    expect(budget.take(10_000)).to.equal("allow");
    expect(budget.take(10_000)).to.equal("refuse");
  });
});
