import type { Results } from "./report.ts";

/** The goals, each against its anchor from the same run. Figures that were not measured are left alone. */
export function applyGoals(results: Results): void {
  // (3) whole-system throughput ≥ 40 % of the raw queue's.
  results.compare("3.system.throughput", "1.queue.throughput", "ratio");
  results.goal("3.system.throughput", "≥ 0.40 × (1)", (f) => (f.anchors[0]?.value ?? 0) >= 0.4);
  // Not a goal, but what bounds it here: the provider path measured directly.
  results.compare("3.system.throughput", "2.provider.throughput", "ratio");

  results.compare("3.redisCommandsPerJob", "1.redisCommandsPerJob", "ratio");

  // (4) sync latency at idle: p50 ≤ (2) p50 + 3 ms, p99 ≤ (2) p99 + 10 ms.
  results.compare("4.sync.p50", "2.provider.p50", "difference");
  results.goal("4.sync.p50", "≤ (2) + 3 ms", (f) => (f.anchors[0]?.value ?? Infinity) <= 3);
  results.compare("4.sync.p99", "2.provider.p99", "difference");
  results.goal("4.sync.p99", "≤ (2) + 10 ms", (f) => (f.anchors[0]?.value ?? Infinity) <= 10);

  // (5) 10,000 waiters on one API process.
  results.goal("5.waiters.redisConnections", "≤ 4", (f) => f.summary.max <= 4);
  results.goal("5.waiters.rss", "≤ 256 MB", (f) => f.summary.max <= 256);
  results.goal("5.waiters.delay.p99", "≤ 25 ms", (f) => f.summary.median <= 25);

  // (6) 1 GB under a 1 MiB cap.
  results.goal("6.bigOutput.rssGrowth", "≤ 20 MB", (f) => f.summary.max <= 20);
  results.compare("6.bigOutput.time1G", "6.bigOutput.time1M", "ratio");

  // (7) batch: single execs' queue wait while a 10,000-target batch runs, against the same at idle.
  results.compare("7.batch.singleWait.p99", "7.idle.singleWait.p99", "difference");
}
