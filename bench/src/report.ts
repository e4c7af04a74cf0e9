import { summarizeRepeats, type RepeatSummary } from "./stats.ts";

/**
 * The result model and its renderings (pure: tested in report.test.ts). Every figure is a list of per-repeat values;
 * a figure may be compared to an anchor figure measured in the same run (a ratio or a difference of medians) and may
 * carry a goal that holds or not.
 */

export type Comparison = "ratio" | "difference";

export interface Goal {
  /** As written in the issue, e.g. "≥ 0.40 × (1)". */
  text: string;
  holds: boolean;
}

export interface Anchor {
  id: string;
  label: string;
  kind: Comparison;
  anchorMedian: number;
  /** figure median ÷ anchor median, or figure median − anchor median. */
  value: number;
}

export interface Figure {
  id: string;
  /** Scenario number, 1..7. */
  scenario: number;
  label: string;
  unit: string;
  /** One value per repeat. */
  values: number[];
  summary: RepeatSummary;
  /** Comparisons with anchors from the same run; the first is the one the goal is about. */
  anchors: Anchor[];
  goal?: Goal;
  note?: string;
}

export class Results {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];

  add(input: { id: string; scenario: number; label: string; unit: string; values: number[]; note?: string }): Figure {
    const existing = this.figures.findIndex((f) => f.id === input.id);
    const figure: Figure = { ...input, summary: summarizeRepeats(input.values), anchors: [] };
    if (existing >= 0) this.figures[existing] = figure;
    else this.figures.push(figure);
    return figure;
  }

  get(id: string): Figure | undefined {
    return this.figures.find((f) => f.id === id);
  }

  /** Compares figure `id` to anchor `anchorId` (both medians). No-op when either is missing. */
  compare(id: string, anchorId: string, kind: Comparison): Anchor | undefined {
    const figure = this.get(id);
    const anchor = this.get(anchorId);
    if (!figure || !anchor) return undefined;
    const comparison = { id: anchorId, label: anchor.label, kind, anchorMedian: anchor.summary.median, value: compareValues(figure.summary.median, anchor.summary.median, kind) };
    figure.anchors = [...figure.anchors.filter((a) => a.id !== anchorId), comparison];
    return comparison;
  }

  goal(id: string, text: string, holds: (figure: Figure) => boolean): void {
    const figure = this.get(id);
    if (figure) figure.goal = { text, holds: holds(figure) };
  }
}

export function compareValues(value: number, anchor: number, kind: Comparison): number {
  return kind === "ratio" ? value / anchor : value - anchor;
}

/** Numbers for people: three significant figures, thousands grouped, no scientific notation. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "n/a" : value > 0 ? "∞" : "-∞";
  const abs = Math.abs(value);
  let digits: number;
  if (abs >= 100 || value === 0 || Number.isInteger(value)) digits = 0;
  else if (abs >= 10) digits = 1;
  else if (abs >= 1) digits = 2;
  else digits = Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatWithUnit(value: number, unit: string): string {
  const n = formatNumber(value);
  if (!unit) return n;
  return unit === "%" ? `${n} %` : `${n} ${unit}`;
}

export function formatSpread(summary: RepeatSummary, count: number): string {
  if (count <= 1) return "1 run";
  const pct = Number.isFinite(summary.relativeSpread) ? `±${(summary.relativeSpread * 100).toFixed(summary.relativeSpread < 0.1 ? 1 : 0)} %` : "±n/a";
  return `${formatNumber(summary.min)}–${formatNumber(summary.max)} (${pct}, n=${count})`;
}

export function formatComparison(anchor: Anchor, unit: string): string {
  const ref = `(${anchor.id.split(".")[0]}) ${anchor.label}`;
  if (anchor.kind === "ratio") return `${formatNumber(anchor.value)} × ${ref}`;
  const sign = anchor.value >= 0 ? "+" : "−";
  return `${sign}${formatWithUnit(Math.abs(anchor.value), unit)} vs ${ref}`;
}

export const TABLE_HEADERS = ["#", "figure", "median", "spread over repeats", "vs anchor (same run)", "goal"];

export function figureRows(figures: readonly Figure[]): string[][] {
  return figures.map((f) => [
    String(f.scenario),
    f.label,
    formatWithUnit(f.summary.median, f.unit),
    formatSpread(f.summary, f.values.length),
    f.anchors.map((a) => formatComparison(a, f.unit)).join("; "),
    f.goal ? `${f.goal.text}: ${f.goal.holds ? "holds" : "MISSED"}` : "",
  ]);
}

function escapeCell(cell: string): string {
  return cell.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A GitHub markdown table whose columns are padded, so it reads as well in a terminal. */
export function renderMarkdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows].map((row) => headers.map((_, i) => escapeCell(row[i] ?? "")));
  const widths = headers.map((_, i) => Math.max(3, ...cells.map((row) => [...row[i]!].length)));
  const line = (row: readonly string[]) => `| ${row.map((cell, i) => cell + " ".repeat(widths[i]! - [...cell].length)).join(" | ")} |`;
  return [line(cells[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.slice(1).map(line)].join("\n");
}

export interface RunInfo {
  date: string;
  durationSeconds: number;
  command: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  config: Record<string, unknown>;
}

export function renderMarkdownReport(info: RunInfo, results: Results, extra: { profiles?: string[] } = {}): string {
  const machine = info.machine;
  const lines = [
    `# shell-exec benchmark — ${info.date}`,
    "",
    `Command: \`${info.command}\` (${Math.round(info.durationSeconds)} s in all).`,
    `Machine: ${String(machine.cpuModel)} × ${String(machine.cpus)}, ${String(machine.memoryGiB)} GiB, ${String(machine.os)}; ` +
      `load average at start ${String(machine.loadAverageStart)}, at end ${String(machine.loadAverageEnd)}.`,
    `Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    "Every figure is the median over repeats; each comparison is against an anchor measured in the same run.",
    "",
    renderMarkdownTable(TABLE_HEADERS, figureRows(results.figures)),
    "",
  ];
  const notes = [...results.figures.filter((f) => f.note).map((f) => `- (${f.scenario}) ${f.label}: ${f.note}`), ...results.notes.map((n) => `- ${n}`)];
  if (notes.length) lines.push("Notes:", "", ...notes, "");
  if (extra.profiles?.length) lines.push("CPU profiles (self time, top functions):", "", ...extra.profiles, "");
  lines.push("Configuration:", "", "```json", JSON.stringify(info.config, null, 2), "```", "");
  return lines.join("\n");
}
