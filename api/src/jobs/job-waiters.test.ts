import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { JobWaiters } from "./job-waiters.ts";

const logger = pino({ level: "silent" });

describe("JobWaiters", () => {
  const channel = `${uniquePrefix("waiters")}:events:job-finished`;
  let subscriber: Redis;
  let publisher: Redis;
  let waiters: JobWaiters;

  beforeEach(async () => {
    subscriber = testRedisConnection("waiters-sub");
    publisher = testRedisConnection("waiters-pub");
    waiters = await JobWaiters.start({ subscriber, channel, logger });
  });
  afterEach(async () => {
    await waiters.close();
    await subscriber.quit();
    await publisher.quit();
  });

  it("wakes every waiter of a job when its id is published, and only those", async () => {
    const a1 = waiters.register("a", 10_000);
    const a2 = waiters.register("a", 10_000);
    const b = waiters.register("b", 10_000);
    let bWoke = false;
    void b.changed.then(() => (bWoke = true));
    expect(waiters.size).toBe(3);
    const started = Date.now();
    await publisher.publish(channel, "a");
    await Promise.all([a1.changed, a2.changed]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(bWoke).toBe(false);
    expect(waiters.size).toBe(1);
    b.release();
    expect(waiters.size).toBe(0);
  });

  it("resolves at the timeout, and at once when the client goes away", async () => {
    const started = Date.now();
    await waiters.register("slow", 200).changed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const controller = new AbortController();
    const handle = waiters.register("gone", 10_000, controller.signal);
    controller.abort();
    await handle.changed;
    expect(waiters.size).toBe(0);
  });

  it("wakes all waiters to re-read after the subscription is re-established", async () => {
    const handle = waiters.register("c", 30_000);
    const id = await subscriber.call("CLIENT", "ID");
    await publisher.call("CLIENT", "KILL", "ID", String(id));
    await handle.changed;
    expect(waiters.size).toBe(0);
    // Still subscribed after the reconnect.
    const again = waiters.register("d", 10_000);
    await expect.poll(async () => {
      await publisher.publish(channel, "d");
      return waiters.size;
    }).toBe(0);
    await again.changed;
  });
});
