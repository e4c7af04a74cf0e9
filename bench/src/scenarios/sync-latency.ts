import type { BenchContext } from "../context.ts";
import { expectStatus } from "../http.ts";
import { fastService, startBenchStack } from "../stack.ts";
import { percentile } from "../stats.ts";

/**
 * (4) Sync latency at idle: one client, one request at a time, `POST …/shell-exec?wait=10` answered 200 with the
 * finished job. Compared (difference) to the direct provider exec of (2): what the API, Redis, the queue and the
 * worker add to one command.
 */
export async function syncLatency(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 200 : 500;
  const stack = await startBenchStack(ctx, { name: "sync-latency", service: fastService(), httpConnections: 1 });
  try {
    const body = { service: "web", command: "echo ok", timeout: 60 };
    // Where the time goes, from the job's own timestamps (ms resolution, one clock: same machine).
    const phases = ["request → createdAt", "createdAt → startedAt (queue)", "startedAt → finishedAt (worker)", "finishedAt → answer"] as const;
    const once = async (split?: number[][]): Promise<number> => {
      const t0 = performance.now();
      const answer = await stack.http.submit(body, { wait: 10 });
      expectStatus(answer, 200);
      const job = answer.body;
      if (job.status !== "succeeded") throw new Error(`job ended ${job.status}: ${JSON.stringify(job.error)}`);
      if (split) {
        const wall = (t: number) => performance.timeOrigin + t;
        const [created, started, finished] = [job.createdAt, job.startedAt!, job.finishedAt!].map((t) => Date.parse(t));
        [created! - wall(t0), started! - created!, finished! - started!, wall(answer.at) - finished!].forEach((v, i) => split[i]!.push(v));
      }
      return answer.at - t0;
    };
    for (let i = 0; i < 200; i++) await once();
    const p50s: number[] = [];
    const p99s: number[] = [];
    const phaseP50s: number[][] = phases.map(() => []);
    for (let r = 0; r < ctx.repeats; r++) {
      const latencies: number[] = [];
      const split: number[][] = phases.map(() => []);
      for (let i = 0; i < count; i++) latencies.push(await once(split));
      p50s.push(percentile(latencies, 50));
      p99s.push(percentile(latencies, 99));
      split.forEach((values, i) => phaseP50s[i]!.push(percentile(values, 50)));
      ctx.log(
        `  repeat ${r + 1}: p50 ${p50s.at(-1)!.toFixed(2)} ms, p99 ${p99s.at(-1)!.toFixed(2)} ms; p50 by phase: ` +
          phases.map((name, i) => `${name} ${phaseP50s[i]!.at(-1)!.toFixed(1)}`).join(", "),
      );
    }
    const note = `${count} sequential requests per repeat after 200 warm-up, keep-alive connection`;
    ctx.results.add({ id: "4.sync.p50", scenario: 4, label: "sync latency at idle (POST ?wait) p50", unit: "ms", values: p50s, note });
    ctx.results.add({ id: "4.sync.p99", scenario: 4, label: "sync latency at idle (POST ?wait) p99", unit: "ms", values: p99s });
    phases.forEach((name, i) => {
      ctx.results.add({ id: `4.phase.${i}`, scenario: 4, label: `  of which ${name}, p50`, unit: "ms", values: phaseP50s[i]!, note: i === 0 ? "phases from the job's createdAt/startedAt/finishedAt (ms resolution)" : undefined });
    });
  } finally {
    await stack.stop();
  }
}
