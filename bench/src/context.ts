import { join } from "node:path";
import type { Results } from "./report.ts";
import { REPO_ROOT } from "./procs.ts";

/** What every scenario gets: where to put figures, the run's knobs, and how to profile a process. */
export interface BenchContext {
  results: Results;
  /** Scale factor for quick runs (`--quick`): 1 for the real run. */
  quick: boolean;
  repeats: number;
  logLevel: string;
  workerConcurrency: number;
  /** NODE_OPTIONS for the API and worker processes (`--node-options`), e.g. a heap limit; "" for none. */
  nodeOptions: string;
  /** Scenario (5) takes V8 heap snapshots of the API before and after parking the waiters (`--heap-snapshots`). */
  heapSnapshots: boolean;
  /** Node flags that make a child write a CPU profile on exit, or [] when profiling is off. */
  profileArgs(name: string): string[];
  log(message: string): void;
}

export const PROFILE_DIR = join(REPO_ROOT, "bench/results/profiles");

export function cpuProfileArgs(enabled: boolean, name: string, stamp: string): string[] {
  if (!enabled) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${stamp}-${name}.cpuprofile`];
}
