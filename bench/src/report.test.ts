import { describe, expect, it } from "vitest";
import { compareValues, figureRows, formatNumber, formatSpread, renderMarkdownReport, renderMarkdownTable, Results, TABLE_HEADERS } from "./report.ts";
import { summarizeRepeats } from "./stats.ts";

describe("formatNumber", () => {
  it("keeps about three significant figures and groups thousands", () => {
    expect(formatNumber(6457.3)).toBe("6,457");
    expect(formatNumber(42.345)).toBe("42.3");
    expect(formatNumber(3.14159)).toBe("3.14");
    expect(formatNumber(0.0123)).toBe("0.0123");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(12)).toBe("12");
    expect(formatNumber(Number.NaN)).toBe("n/a");
    expect(formatNumber(Infinity)).toBe("∞");
  });

  it("formatSpread shows range, half-range and repeat count", () => {
    expect(formatSpread(summarizeRepeats([90, 110, 100]), 3)).toBe("90–110 (±10 %, n=3)");
    expect(formatSpread(summarizeRepeats([5]), 1)).toBe("1 run");
  });
});

describe("Results", () => {
  it("compares a figure with its anchor as a ratio or a difference, and evaluates goals", () => {
    const results = new Results();
    results.add({ id: "1.q", scenario: 1, label: "queue", unit: "jobs/s", values: [1000, 1100, 900] });
    results.add({ id: "3.s", scenario: 3, label: "system", unit: "jobs/s", values: [450, 400, 500] });
    results.add({ id: "2.p", scenario: 2, label: "provider p50", unit: "ms", values: [2] });
    results.add({ id: "4.s", scenario: 4, label: "sync p50", unit: "ms", values: [6.5] });
    expect(results.compare("3.s", "1.q", "ratio")?.value).toBe(0.45);
    expect(results.compare("4.s", "2.p", "difference")?.value).toBe(4.5);
    expect(results.compare("4.s", "9.missing", "difference")).toBeUndefined();
    results.goal("3.s", "≥ 0.40 × (1)", (f) => f.anchors[0]!.value >= 0.4);
    results.goal("4.s", "≤ (2) + 3 ms", (f) => f.anchors[0]!.value <= 3);
    results.goal("9.missing", "never", () => true);
    results.add({ id: "2.t", scenario: 2, label: "provider", unit: "execs/s", values: [900] });
    results.compare("3.s", "2.t", "ratio");
    expect(results.get("3.s")?.goal).toEqual({ text: "≥ 0.40 × (1)", holds: true });
    expect(results.get("4.s")?.goal?.holds).toBe(false);

    const rows = figureRows(results.figures);
    expect(rows[1]).toEqual(["3", "system", "450 jobs/s", "400–500 (±11 %, n=3)", "0.450 × (1) queue; 0.500 × (2) provider", "≥ 0.40 × (1): holds"]);
    expect(rows[3]).toEqual(["4", "sync p50", "6.50 ms", "1 run", "+4.50 ms vs (2) provider p50", "≤ (2) + 3 ms: MISSED"]);
  });

  it("replaces a figure added twice under one id", () => {
    const results = new Results();
    results.add({ id: "a", scenario: 1, label: "a", unit: "", values: [1] });
    results.add({ id: "a", scenario: 1, label: "a", unit: "", values: [2] });
    expect(results.figures).toHaveLength(1);
    expect(results.get("a")?.summary.median).toBe(2);
    expect(compareValues(3, 2, "difference")).toBe(1);
  });
});

describe("renderMarkdownTable", () => {
  it("pads columns, escapes pipes and fills missing cells", () => {
    const table = renderMarkdownTable(["a", "bb"], [["x|y", "1"], ["z"]]);
    expect(table.split("\n")).toEqual(["| a    | bb  |", "|------|-----|", "| x\\|y | 1   |", "| z    |     |"]);
  });

  it("counts characters, not UTF-16 units or bytes, when padding", () => {
    const lines = renderMarkdownTable(["h"], [["±1 ×"], ["abcd"]]).split("\n");
    expect(lines[2]!.length).toBe(lines[3]!.length);
  });

  it("renders a whole report with the table, notes and configuration", () => {
    const results = new Results();
    results.add({ id: "1.q", scenario: 1, label: "queue", unit: "jobs/s", values: [1000], note: "20,000 jobs" });
    results.notes.push("(5) waiters failed: boom");
    const md = renderMarkdownReport(
      { date: "2025-01-01T00:00:00.000Z", durationSeconds: 12.3, command: "node bench/src/run.ts", machine: { cpuModel: "cpu", cpus: 2, memoryGiB: 24, os: "Linux", loadAverageStart: "0", loadAverageEnd: "1" }, versions: { node: "24" }, config: { repeats: 1 } },
      results,
    );
    expect(md).toContain(`| ${TABLE_HEADERS[0]}`);
    expect(md).toContain("| 1   | queue  | 1,000 jobs/s |");
    expect(md).toContain("- (1) queue: 20,000 jobs");
    expect(md).toContain("- (5) waiters failed: boom");
    expect(md).toContain('"repeats": 1');
  });
});
