import { expect } from "chai";
import { percentileOf, rangeStart } from "../src/domain/analytics.js";
import { DURATION_BUCKETS_MS } from "../src/store/analytics.store.js";

const hist = (counts: Record<number, number>) => Array.from({ length: DURATION_BUCKETS_MS.length + 1 }, (_, i) => counts[i] ?? 0);

describe("executor domain: analytics figures", () => {
  it("when the histogram is empty, then every percentile is null", () => {
    expect(percentileOf(hist({}), 0.5)).to.equal(null);
    expect(percentileOf([], 0.99)).to.equal(null);
  });

  it("when every task falls in one bucket, then percentiles interpolate inside it", () => {
    // Bucket 7 holds run times from 500 to 1000 ms.
    const h = hist({ 7: 100 });
    expect(percentileOf(h, 0.5)).to.equal(750);
    expect(percentileOf(h, 0.99)).to.equal(995);
  });

  it("when tasks spread over buckets, then p50 and p99 land in the right ones", () => {
    const h = hist({ 0: 90, 10: 9, 12: 1 });
    expect(percentileOf(h, 0.5)).to.be.below(5);
    expect(percentileOf(h, 0.95)).to.be.within(5000, 10_000);
    expect(percentileOf(h, 0.999)).to.be.within(30_000, 60_000);
  });

  it("when the slowest tasks are past the last bound, then the open bucket answers its lower bound", () => {
    expect(percentileOf(hist({ [DURATION_BUCKETS_MS.length]: 3 }), 0.5)).to.equal(DURATION_BUCKETS_MS.at(-1));
  });

  it("when a range is named, then it starts that many days ago", () => {
    const now = Date.parse("2026-12-03T12:00:00Z");
    expect(rangeStart("day", now).toISOString()).to.equal("2026-12-02T12:00:00.000Z");
    expect(rangeStart("quarter", now).toISOString()).to.equal("2026-09-03T12:00:00.000Z");
  });
});
