import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { RateLimitedError } from "./rate-limited-error.ts";
import { SubmitRateLimiter } from "./submit-rate-limiter.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SubmitRateLimiter (GCRA in one Lua script)", () => {
  const prefix = uniquePrefix("rate");
  let redis: Redis;
  let other: Redis;

  beforeAll(() => {
    redis = testRedisConnection("rate");
    other = testRedisConnection("rate-other");
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
    await other.quit();
  });

  it("allows a burst, then refuses with the exact wait until the next slot", async () => {
    const limiter = new SubmitRateLimiter({ redis, prefix, rate: { ratePerMinute: 60, burst: 3 } });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.take("key:burst"));
    expect(results.slice(0, 3)).toEqual([
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0 },
    ]);
    const refused = results[3]!;
    expect(refused.allowed).toBe(false);
    // One slot per second: the next is due one interval after the first submit, i.e. a little under 1000 ms from now.
    if (!refused.allowed) {
      expect(refused.retryAfterMs).toBeGreaterThan(800);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
    }
  });

  it("accepts again once the announced wait has passed, and not before", async () => {
    const limiter = new SubmitRateLimiter({ redis, prefix, rate: { ratePerMinute: 600, burst: 1 } });
    expect((await limiter.take("key:refill")).allowed).toBe(true);
    const refused = await limiter.take("key:refill");
    if (refused.allowed) throw new Error("expected a refusal");
    expect(refused.retryAfterMs).toBeLessThanOrEqual(100);
    await sleep(Math.max(0, refused.retryAfterMs - 40));
    expect((await limiter.take("key:refill")).allowed).toBe(false);
    await sleep(60);
    expect((await limiter.take("key:refill")).allowed).toBe(true);
  });

  it("never lets concurrent API processes take more than the burst together", async () => {
    const a = new SubmitRateLimiter({ redis, prefix, rate: { ratePerMinute: 1, burst: 5 } });
    const b = new SubmitRateLimiter({ redis: other, prefix, rate: { ratePerMinute: 1, burst: 5 } });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take("key:race")));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
  });

  it("keeps principals apart, honours overrides, and can be turned off", async () => {
    const limiter = new SubmitRateLimiter({
      redis,
      prefix,
      rate: { ratePerMinute: 1, burst: 1 },
      overrides: { "key:vip": { ratePerMinute: 1, burst: 3 }, "key:unlimited": { ratePerMinute: 0, burst: 0 } },
    });
    expect((await limiter.take("key:one")).allowed).toBe(true);
    expect((await limiter.take("key:two")).allowed).toBe(true);
    expect((await limiter.take("key:one")).allowed).toBe(false);
    const vip = await Promise.all([1, 2, 3, 4].map(() => limiter.take("key:vip")));
    expect(vip.map((r) => r.allowed)).toEqual([true, true, true, false]);
    for (let i = 0; i < 5; i++) expect((await limiter.take("key:unlimited")).allowed).toBe(true);
    expect(await redis.exists(limiter.key("key:unlimited"))).toBe(0);
  });

  it("throws RATE_LIMITED 429 with Retry-After in whole seconds rounded up", async () => {
    const limiter = new SubmitRateLimiter({ redis, prefix, rate: { ratePerMinute: 2, burst: 1 } });
    await limiter.check("key:throw");
    const error = await limiter.check("key:throw").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    const limited = error as RateLimitedError;
    expect(limited).toMatchObject({ code: "RATE_LIMITED", status: 429, retryAfterSeconds: 30 });
    expect(limited.details).toMatchObject({ limit: "submit-rate", ratePerMinute: 2, burst: 1 });
    expect((limited.details as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(29_000);
  });

  it("keeps its state only as long as it matters (bounded memory)", async () => {
    const limiter = new SubmitRateLimiter({ redis, prefix, rate: { ratePerMinute: 60, burst: 10 } });
    await limiter.take("key:ttl");
    const ttl = await redis.pttl(limiter.key("key:ttl"));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
  });
});
