import { Queue, QueueEvents, Worker } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, testRedisUrl, uniquePrefix } from "./redis.ts";

describe("Redis test harness", () => {
  const prefix = uniquePrefix("harness");
  afterEach(async () => {
    const redis = testRedisConnection("cleanup");
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("enqueues a BullMQ job and a worker processes it on the harness Redis", async () => {
    const connection = { url: testRedisUrl() };
    const queue = new Queue<{ n: number }, number>("harness", { connection, prefix });
    const events = new QueueEvents("harness", { connection, prefix });
    const worker = new Worker<{ n: number }, number>("harness", (job) => Promise.resolve(job.data.n * 2), { connection, prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add("double", { n: 21 });
      await expect(job.waitUntilFinished(events, 10_000)).resolves.toBe(42);
      const redis = testRedisConnection("inspect");
      const keys = await redis.keys(`${prefix}:*`);
      await redis.quit();
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((key) => key.startsWith(`${prefix}:harness`))).toBe(true);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
