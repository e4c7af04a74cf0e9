/**
 * Scenario 5's stand-in worker: ends the jobs whose ids are in the file argv[2] through the worker's own JobStore
 * calls (claim, markSent, finish: the write of the result and the job-finished publish), at BENCH_RATE jobs per
 * second, so the API's wake path is driven at a known pace that does not depend on the provider simulator's speed.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import { createRedisConnection } from "@shell-exec/shared/redis/connection.ts";
import { redisKeys } from "@shell-exec/shared/redis/keys.ts";

const ids = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as string[];
const rate = Number(process.env.BENCH_RATE ?? "1000");
const redis = createRedisConnection(process.env.REDIS_URL!, { purpose: "bench-finisher" });
const store = new JobStore({ redis, keys: redisKeys(process.env.QUEUE_PREFIX!), retentionSeconds: 3600 });
const output = { stdout: Buffer.from("ok\n"), stderr: Buffer.alloc(0) };

const end = async (id: string) => {
  if ((await store.claim(id, "bench-finisher")) !== "claimed") throw new Error(`job ${id} could not be claimed`);
  await store.markSent(id);
  await store.finish(id, { status: "succeeded", result: { exitCode: 0, truncated: false, stdoutBytes: 3, stderrBytes: 0, durationMs: 1 }, error: null, output });
};

const tickMs = 10;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
const started = performance.now();
for (let i = 0; i < ids.length; i += perTick) {
  await Promise.all(ids.slice(i, i + perTick).map(end));
  const due = started + ((i + perTick) / rate) * 1000;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
}
process.send?.({ done: ids.length, ms: performance.now() - started });
await redis.quit();
process.disconnect?.();
