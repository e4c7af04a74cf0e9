/**
 * Scenario 1's consumer: a BullMQ Worker with a no-op processor, in a process of its own like the real worker, with
 * the same connection naming, concurrency and job options. It tells the parent (IPC) when it is ready and whenever
 * it has completed `BENCH_REPORT_EVERY` jobs, with its monotonic clock.
 */
import { Worker } from "bullmq";

const url = process.env.REDIS_URL!;
const prefix = process.env.QUEUE_PREFIX!;
const queueName = process.env.BENCH_QUEUE ?? "noop";
const concurrency = Number(process.env.WORKER_CONCURRENCY ?? "16");
const reportEvery = Number(process.env.BENCH_REPORT_EVERY ?? "1000");

let completed = 0;
const worker = new Worker(
  queueName,
  async () => {},
  { connection: { url, connectionName: "shell-exec:bench-noop-worker" }, prefix, concurrency },
);
// "completed" fires after BullMQ has moved the job to completed (and, with removeOnComplete, removed it).
worker.on("completed", () => {
  completed++;
  if (completed % reportEvery === 0) process.send?.({ completed });
});
worker.on("error", (error) => console.error(error));
await worker.waitUntilReady();
process.send?.({ ready: true });
process.on("SIGTERM", () => {
  void worker.close().then(() => process.exit(0));
});
