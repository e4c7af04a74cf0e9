/**
 * Pure statistics helpers of the benchmark (tested in stats.test.ts). Percentiles use linear interpolation between
 * closest ranks (the "R-7"/NumPy default), so p50 of an even-sized sample is the mean of the two middle values.
 */

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The p-th percentile (0 ≤ p ≤ 100) of `values`; NaN for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in [0, 100]`);
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  return percentileOfSorted(s, p);
}

export function percentileOfSorted(s: readonly number[], p: number): number {
  if (s.length === 0) return Number.NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = s[lo]!;
  const b = s[hi]!;
  return a + (b - a) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let total = 0;
  for (const v of values) total += v;
  return total / values.length;
}

export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const s = sorted(values);
  return {
    count: s.length,
    min: s.length ? s[0]! : Number.NaN,
    p50: percentileOfSorted(s, 50),
    p90: percentileOfSorted(s, 90),
    p99: percentileOfSorted(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
    mean: mean(s),
  };
}

/** Median over repeats and the spread around it (min, max, and the half-range relative to the median). */
export interface RepeatSummary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / 2 / |median|, e.g. 0.04 for ±4 %; 0 for a single repeat, NaN when the median is 0. */
  relativeSpread: number;
}

export function summarizeRepeats(values: readonly number[]): RepeatSummary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, relativeSpread: Number.NaN };
  const s = sorted(values);
  const med = percentileOfSorted(s, 50);
  const min = s[0]!;
  const max = s[s.length - 1]!;
  const relativeSpread = max === min ? 0 : med === 0 ? Number.NaN : (max - min) / 2 / Math.abs(med);
  return { median: med, min, max, relativeSpread };
}

/** Rate in units per second of `count` events over `ms` milliseconds. */
export function ratePerSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}
