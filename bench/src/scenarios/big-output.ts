import type { BenchContext } from "../context.ts";
import { expectStatus } from "../http.ts";
import { memoryOf, rssByMapping } from "../procs.ts";
import { realService, startBenchStack } from "../stack.ts";

const MB = 1_000_000;
const MiB = 1024 * 1024;

/**
 * (6) Big output: a real child process in akash-sim writes 1 GB to stdout, under the default 1 MiB cap. The worker
 * must keep the first MiB, count the rest and drop it, so its memory stays flat: its RSS is read before (after a
 * warm-up), after each run and at its peak (VmHWM). The time is compared with the same command writing 1 MiB.
 */
export async function bigOutput(ctx: BenchContext): Promise<void> {
  const bigBytes = ctx.quick ? 200_000_000 : 1_000_000_000;
  const stack = await startBenchStack(ctx, { name: "big-output", service: realService(), httpConnections: 1 });
  try {
    const workerPid = stack.worker!.process.pid;
    const run = async (bytes: number) => {
      const t0 = performance.now();
      const answer = await stack.http.submit({ service: "web", command: `head -c ${bytes} /dev/zero | tr '\\0' x`, timeout: 120 }, { wait: 60 });
      expectStatus(answer, 200);
      const job = answer.body;
      if (job.status !== "succeeded" || !job.result) throw new Error(`job ended ${job.status}: ${JSON.stringify(job.error)}`);
      if (job.result.stdoutBytes !== bytes) throw new Error(`stdoutBytes ${job.result.stdoutBytes}, expected ${bytes}`);
      if (job.result.truncated !== bytes > MiB) throw new Error(`truncated ${job.result.truncated} for ${bytes} bytes`);
      return answer.at - t0;
    };
    for (let i = 0; i < 5; i++) await run(MiB);
    const before = memoryOf(workerPid).rss;
    const mappingsBefore = rssByMapping(workerPid);
    const smallTimes: number[] = [];
    const bigTimes: number[] = [];
    const growth: number[] = [];
    const peakGrowth: number[] = [];
    for (let r = 0; r < ctx.repeats; r++) {
      const small: number[] = [];
      for (let i = 0; i < 5; i++) small.push(await run(MiB));
      smallTimes.push(small.sort((a, b) => a - b)[2]!);
      bigTimes.push(await run(bigBytes));
      const after = memoryOf(workerPid);
      growth.push((after.rss - before) / MB);
      peakGrowth.push((after.peakRss - before) / MB);
      ctx.log(
        `  repeat ${r + 1}: 1 MiB ${smallTimes.at(-1)!.toFixed(1)} ms, ${bigBytes / MB} MB ${bigTimes.at(-1)!.toFixed(0)} ms ` +
          `(${((bigBytes / MB) / (bigTimes.at(-1)! / 1000)).toFixed(0)} MB/s); worker RSS ${(before / MB).toFixed(0)} → ${(after.rss / MB).toFixed(0)} MB, peak ${(after.peakRss / MB).toFixed(0)} MB`,
      );
    }
    const mappingsAfter = rssByMapping(workerPid);
    const split = (["brk", "anon", "file"] as const).map((k) => `${k} ${((mappingsAfter[k] - mappingsBefore[k]) / MB).toFixed(1)} MB`).join(", ");
    ctx.log(`  worker RSS growth by mapping over all repeats: ${split}`);
    const big = `${bigBytes / MB} MB`;
    ctx.results.add({ id: "6.bigOutput.time1M", scenario: 6, label: "1 MiB output: submit ?wait → result", unit: "ms", values: smallTimes, note: "median of 5 per repeat" });
    ctx.results.add({
      id: "6.bigOutput.time1G",
      scenario: 6,
      label: `${big} output under a 1 MiB cap: submit ?wait → result`,
      unit: "ms",
      values: bigTimes,
      note: `\`head -c N /dev/zero | tr '\\0' x\` as a real child process in akash-sim; ${bigTimes.map((t) => ((bigBytes / MB) / (t / 1000)).toFixed(0)).join(", ")} MB/s`,
    });
    ctx.results.add({
      id: "6.bigOutput.rssGrowth",
      scenario: 6,
      label: `worker RSS growth after ${big} (after − before)`,
      unit: "MB",
      values: growth,
      note:
        `worker RSS before: ${(before / MB).toFixed(0)} MB (after warm-up with 1 MiB outputs); growth over all repeats by mapping (/proc/pid/smaps): ${split} ` +
        "(brk = glibc's main malloc heap, anon = V8 heap spaces and other anonymous mappings)",
    });
    ctx.results.add({ id: "6.bigOutput.peakGrowth", scenario: 6, label: `worker peak RSS growth during ${big} (VmHWM − before)`, unit: "MB", values: peakGrowth });
  } finally {
    await stack.stop();
  }
}
