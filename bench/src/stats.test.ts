import { describe, expect, it } from "vitest";
import { mean, median, percentile, ratePerSecond, summarize, summarizeRepeats } from "./stats.ts";

describe("percentile", () => {
  it("interpolates between closest ranks", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 0)).toBe(1);
    expect(percentile([4, 1, 3, 2], 100)).toBe(4);
    expect(percentile([10, 20], 25)).toBe(12.5);
  });

  it("gives p99 of 1..100 as 99.01 and does not reorder its input", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 99)).toBeCloseTo(99.01, 10);
    expect(values[0]).toBe(100);
  });

  it("handles one value, empty samples and bad ranks", () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it("median and mean", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(mean([])).toBeNaN();
  });
});

describe("summaries", () => {
  it("summarize gives min, p50, p90, p99, max and mean", () => {
    const s = summarize(Array.from({ length: 11 }, (_, i) => i * 10));
    expect(s).toEqual({ count: 11, min: 0, p50: 50, p90: 90, p99: 99, max: 100, mean: 50 });
  });

  it("summarizeRepeats gives the median and the half-range relative to it", () => {
    expect(summarizeRepeats([90, 110, 100])).toEqual({ median: 100, min: 90, max: 110, relativeSpread: 0.1 });
    expect(summarizeRepeats([5])).toEqual({ median: 5, min: 5, max: 5, relativeSpread: 0 });
    expect(summarizeRepeats([-1, 0, 1]).relativeSpread).toBeNaN();
    expect(summarizeRepeats([]).median).toBeNaN();
  });

  it("ratePerSecond", () => {
    expect(ratePerSecond(500, 250)).toBe(2000);
    expect(ratePerSecond(1, 0)).toBeNaN();
  });
});
