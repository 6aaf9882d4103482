// The bench's pure helpers (the bench itself runs only through `npm run bench`, never under mocha).
import { expect } from "chai";
import { closedLoop, openLoop } from "./lib/load.js";
import { figuresTable, formatNumber, renderReport, verdict, type Figure } from "./lib/report.js";
import { percentile, perSecond, ratio, summarize } from "./lib/stats.js";
import { buildTargets } from "./lib/targets.js";

describe("bench helpers", () => {
  it("when percentiles are taken, then by nearest rank on the sorted values", () => {
    const values = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(values, 0.5)).to.equal(5);
    expect(percentile(values, 0.99)).to.equal(10);
    expect(percentile(values, 0)).to.equal(1);
    expect(percentile([], 0.5)).to.equal(0);
    expect(summarize(values)).to.deep.equal({ count: 10, p50: 5, p99: 10, max: 10 });
  });

  it("when rates and ratios are computed, then missing or zero sides give nothing", () => {
    expect(perSecond(500, 250)).to.equal(2000);
    expect(perSecond(5, 0)).to.equal(0);
    expect(ratio(3, 2)).to.equal(1.5);
    expect(ratio(3, 0)).to.equal(undefined);
    expect(ratio(undefined, 2)).to.equal(undefined);
  });

  it("when targets are built from figures, then ratios come from the ids and failed figures count as missing", () => {
    const figures: Figure[] = [
      { id: "tasks", scenario: "a", metric: "m", value: 300, unit: "tasks/s" },
      { id: "graphileAddJob", scenario: "c", metric: "m", value: 150, unit: "jobs/s" },
      { id: "edge", scenario: "f", metric: "m", value: 1000, unit: "req/s", error: "boom" },
      { id: "bareExpress", scenario: "f", metric: "m", value: 4000, unit: "req/s" },
      { id: "realtimeP99", scenario: "g", metric: "m", value: 40, unit: "ms" },
    ];
    const targets = buildTargets(figures);
    const byName = (prefix: string) => targets.find((t) => t.name.startsWith(prefix))!;
    expect(byName("tasks: Meridian submit").value).to.equal(2);
    expect(verdict(byName("tasks: Meridian submit"))).to.equal("met");
    expect(verdict(byName("GET agents"))).to.equal("n/a");
    expect(verdict(byName("realtime: event"))).to.equal("met");
    expect(verdict(byName("tasks: Meridian / BullMQ"))).to.equal("info");
  });

  it("when a report is rendered, then figures, errors and notes appear as markdown tables and lists", () => {
    expect(formatNumber(1234.5, "jobs/s")).to.equal("1,235 jobs/s");
    expect(formatNumber(0.456, "×")).to.equal("0.46×");
    expect(formatNumber(undefined)).to.equal("–");
    expect(figuresTable([{ scenario: "b", metric: "x", unit: "", error: "a | b" }])).to.contain("**error**: a \\| b");
    const report = renderReport({
      title: "T",
      startedAt: "2026-01-01T00:00:00.000Z",
      seconds: 12,
      machine: [["CPU", "2 × test"]],
      config: ["c1"],
      figures: [{ scenario: "a", metric: "m", value: 12.345, unit: "ms", note: "n" }],
      targets: buildTargets([]),
      notes: ["n1"],
    });
    expect(report).to.contain("# T").and.contain("| a | m | 12.3 ms | n |").and.contain("- CPU: 2 × test").and.contain("- n1");
  });

  it("when loads are bounded, then they stop at the count and keep the first error", async () => {
    const closed = await closedLoop(10, 3, 5000, async (i) => {
      if (i === 4) throw new Error("four");
    });
    expect(closed).to.include({ done: 9, failed: 1, firstError: "four" });
    const open = await openLoop(1000, 0.02, 100, async () => undefined);
    expect(open.done).to.equal(20);
  });
});
