import { Queue } from "bullmq";
import { execJobOptions } from "@shell-exec/shared/jobs/exec-queue.ts";
import type { BenchContext } from "../context.ts";
import { spawnNode, startRedis, type ManagedChild } from "../procs.ts";
import { redisCommandCalls } from "../stack.ts";
import { ratePerSecond } from "../stats.ts";

/**
 * (1) Queue limit: raw BullMQ no-op jobs on a private redis-server started exactly as the system's (startRedisServer).
 * The bench process adds jobs in bulk (addBulk, 1,000 per call) with the job options of the exec queue; one consumer
 * process with the system worker's concurrency runs a no-op processor. Throughput = jobs / (first add → last job
 * completed).
 */
export async function queueLimit(ctx: BenchContext): Promise<void> {
  const jobs = ctx.quick ? 5_000 : 20_000;
  const redis = await startRedis();
  const prefix = "bench1";
  const queue = new Queue("noop", { connection: { url: redis.url, connectionName: "bench-producer" }, prefix, defaultJobOptions: execJobOptions() });
  let worker: ManagedChild | undefined;
  try {
    worker = spawnNode({
      name: "noop-worker",
      script: "bench/src/children/noop-worker.ts",
      env: { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, WORKER_CONCURRENCY: String(ctx.workerConcurrency), BENCH_REPORT_EVERY: "500" },
      nodeArgs: ctx.profileArgs("queue-noop-worker"),
      ipc: true,
    });
    const child = worker;
    let completed = 0;
    let waiter: { target: number; resolve: () => void } | undefined;
    await new Promise<void>((resolve, reject) => {
      child.child.on("message", (message: { ready?: boolean; completed?: number }) => {
        if (message.ready) resolve();
        if (message.completed !== undefined) {
          completed = message.completed;
          if (waiter && completed >= waiter.target) waiter.resolve();
        }
      });
      child.child.once("exit", () => reject(new Error(`noop worker exited:\n${child.output()}`)));
    });
    const round = async (count: number): Promise<number> => {
      const target = completed + count;
      const done = new Promise<void>((resolve) => (waiter = { target, resolve }));
      const started = performance.now();
      for (let i = 0; i < count; i += 1_000) {
        const n = Math.min(1_000, count - i);
        await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: "exec", data: { jobId: `j${i + k}` } })));
      }
      await done;
      return ratePerSecond(count, performance.now() - started);
    };
    ctx.log(`  warm-up: ${Math.min(jobs, 5_000)} jobs`);
    await round(Math.min(jobs, 5_000));
    const rates: number[] = [];
    const commandsPerJob: number[] = [];
    for (let r = 0; r < ctx.repeats; r++) {
      const calls0 = await redisCommandCalls(redis);
      rates.push(await round(jobs));
      const calls1 = await redisCommandCalls(redis);
      let total = 0;
      for (const [name, n] of calls1) total += n - (calls0.get(name) ?? 0);
      commandsPerJob.push(total / jobs);
      ctx.log(`  repeat ${r + 1}: ${Math.round(rates.at(-1)!)} jobs/s, ${commandsPerJob.at(-1)!.toFixed(1)} Redis commands/job`);
    }
    ctx.results.add({
      id: "1.queue.throughput",
      scenario: 1,
      label: "queue limit: BullMQ no-op jobs, bulk add + process",
      unit: "jobs/s",
      values: rates,
      note: `${jobs} jobs per repeat, addBulk ×1,000, 1 consumer process, concurrency ${ctx.workerConcurrency}, removeOnComplete`,
    });
    ctx.results.add({ id: "1.redisCommandsPerJob", scenario: 1, label: "Redis commands per no-op job", unit: "", values: commandsPerJob });
  } finally {
    await queue.close();
    await worker?.stop();
    await redis.stop();
  }
}
