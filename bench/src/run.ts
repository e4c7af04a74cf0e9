/**
 * The benchmark: `node bench/src/run.ts [--quick] [--only 1,3] [--repeats N] [--profile] [--log-level L]`.
 *
 * Runs the scenarios one after another, each with its own redis-server, akash-sim, API and worker processes, prints
 * the table and writes bench/results/latest.{md,json} (and a dated copy). Not part of the test suite.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuProfileArgs, PROFILE_DIR, type BenchContext } from "./context.ts";
import { loadAverageNow, machineInfo, versions } from "./machine.ts";
import { REPO_ROOT, stopAllChildren } from "./procs.ts";
import { renderProfileSummary, summarizeProfileFile } from "./profile.ts";
import { figureRows, renderMarkdownReport, renderMarkdownTable, Results, TABLE_HEADERS } from "./report.ts";
import { applyGoals } from "./goals.ts";
import { batch } from "./scenarios/batch.ts";
import { bigOutput } from "./scenarios/big-output.ts";
import { providerPath } from "./scenarios/provider-path.ts";
import { queueLimit } from "./scenarios/queue-limit.ts";
import { syncLatency } from "./scenarios/sync-latency.ts";
import { throughput } from "./scenarios/throughput.ts";
import { waiters } from "./scenarios/waiters.ts";

interface Scenario {
  n: number;
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  { n: 1, name: "queue limit (raw BullMQ)", run: queueLimit },
  { n: 2, name: "provider-path limit (direct lease-shell exec)", run: providerPath },
  { n: 3, name: "whole-system throughput", run: throughput },
  { n: 4, name: "sync latency at idle", run: syncLatency },
  { n: 5, name: "10,000 waiters on one API process", run: waiters },
  { n: 6, name: "big output under the cap", run: bigOutput },
  { n: 7, name: "batch of 10,000 targets", run: batch },
];

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    repeats: { type: "string" },
    profile: { type: "boolean", default: false },
    "log-level": { type: "string", default: "warn" },
    concurrency: { type: "string", default: "16" },
    "node-options": { type: "string", default: "" },
    "heap-snapshots": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

const only = args.only ? new Set(args.only.split(",").map((s) => Number(s.trim()))) : null;
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const results = new Results();
const started = performance.now();
const machine = machineInfo();
const profiling = args.profile;
const ctx: BenchContext = {
  results,
  quick: args.quick,
  repeats: Number(args.repeats ?? (args.quick ? 2 : 3)),
  logLevel: args["log-level"],
  workerConcurrency: Number(args.concurrency),
  nodeOptions: args["node-options"],
  heapSnapshots: args["heap-snapshots"],
  profileArgs: (name) => cpuProfileArgs(profiling, name, stamp),
  log: (message) => console.error(message),
};

process.on("SIGINT", () => {
  console.error("interrupted: stopping child processes");
  void stopAllChildren().then(() => process.exit(130));
});

if (profiling) await mkdir(PROFILE_DIR, { recursive: true });
const failures: string[] = [];
for (const scenario of SCENARIOS) {
  if (only && !only.has(scenario.n)) continue;
  const t0 = performance.now();
  ctx.log(`(${scenario.n}) ${scenario.name}`);
  try {
    await scenario.run(ctx);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push(`(${scenario.n}) ${scenario.name} failed: ${message.split("\n").slice(0, 12).join("\n")}`);
    ctx.log(`  FAILED: ${message}`);
    await stopAllChildren();
  }
  ctx.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
for (const failure of failures) results.notes.push(failure.replaceAll("\n", " / "));
applyGoals(results);

const profileSections: string[] = [];
if (profiling) {
  const files = (await readdir(PROFILE_DIR)).filter((f) => f.startsWith(stamp) && f.endsWith(".cpuprofile")).sort();
  for (const file of files) {
    const summary = await summarizeProfileFile(join(PROFILE_DIR, file));
    profileSections.push(renderProfileSummary(summary, file.slice(stamp.length + 1, -".cpuprofile".length)));
  }
}

const durationSeconds = (performance.now() - started) / 1000;
machine.loadAverageEnd = loadAverageNow();
const info = {
  date: new Date().toISOString(),
  durationSeconds,
  command: `node bench/src/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
  machine,
  versions: versions(),
  config: {
    quick: ctx.quick,
    repeats: ctx.repeats,
    logLevel: ctx.logLevel,
    workerConcurrency: ctx.workerConcurrency,
    nodeOptions: ctx.nodeOptions,
    profiling,
    heapSnapshots: ctx.heapSnapshots,
    scenarios: only ? [...only] : SCENARIOS.map((s) => s.n),
  },
};

console.log("");
console.log(renderMarkdownTable(TABLE_HEADERS, figureRows(results.figures)));
for (const note of results.notes) console.log(`note: ${note}`);
for (const section of profileSections) console.log(section);
console.log(`\n${Math.round(durationSeconds)} s in all`);

if (!args["no-write"]) {
  const dir = join(REPO_ROOT, "bench/results");
  await mkdir(dir, { recursive: true });
  const markdown = renderMarkdownReport(info, results, { profiles: profileSections });
  const json = JSON.stringify({ ...info, figures: results.figures, notes: results.notes, profiles: profileSections }, null, 2);
  // A profiling run's figures are skewed by the profiler: they go to profile.* and never replace latest.*.
  const skewed = profiling || ctx.heapSnapshots;
  const targets = skewed ? [join(dir, "profile")] : [join(dir, "latest"), join(dir, "history", stamp)];
  await mkdir(join(dir, "history"), { recursive: true });
  for (const base of targets) {
    await writeFile(`${base}.md`, markdown);
    await writeFile(`${base}.json`, `${json}\n`);
  }
  console.log(skewed ? "written: bench/results/profile.md, bench/results/profile.json" : `written: bench/results/latest.md, bench/results/latest.json (and history/${stamp}.*)`);
}
process.exit(failures.length ? 1 : 0);
