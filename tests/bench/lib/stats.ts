/** Latency and rate arithmetic of the bench: pure functions, unit-tested. */

/** The q-quantile (0..1) of `values` by the nearest-rank method; 0 for no values. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface LatencySummary { count: number; p50: number; p99: number; max: number }

export function summarize(values: readonly number[]): LatencySummary {
  const max = values.reduce((m, v) => (v > m ? v : m), values.length ? -Infinity : 0);
  return { count: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max };
}

/** Operations per second; 0 when nothing was measured. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** `a / b`, or undefined when either side is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}
