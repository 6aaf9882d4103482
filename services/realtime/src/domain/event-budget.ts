export type BudgetVerdict = "allow" | "refuse" | "abuse";

/**
 * A token bucket for the events one socket sends: `burst` at once, `perSecond` sustained. Over the rate an
 * event is refused; `abuseLimit` refusals in a row (a client that ignores its refusals) is abuse.
 */
export class EventBudget {
  private tokens: number;
  private refusedInRow = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly abuseLimit: number,
    private last = Date.now(),
  ) {
    this.tokens = burst;
  }

  take(now = Date.now()): BudgetVerdict {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refusedInRow = 0;
      return "allow";
    }
    this.refusedInRow++;
    return this.refusedInRow >= this.abuseLimit ? "abuse" : "refuse";
  }
}
