import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobSpec } from "@shell-exec/shared/jobs/job-model.ts";
import { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import { redisKeys } from "@shell-exec/shared/redis/keys.ts";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { InFlightLimiter, inFlightJobsKey } from "./in-flight-limiter.ts";
import { RateLimitedError } from "./rate-limited-error.ts";

const WALLET = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";
const empty = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

function spec(id: string, principalId: string): JobSpec {
  return {
    id,
    principalId,
    wallet: WALLET,
    target: { dseq: "100", gseq: 1, oseq: 1, service: "web", podIndex: 0, provider: WALLET },
    hostUri: "https://provider.invalid:8443",
    request: { mode: "shell", command: "true", argv: null, timeout: 60, workdir: null, maxOutputBytes: 1024, stdinBytes: 0, files: [], envNames: [] },
    createdAt: new Date().toISOString(),
    batchId: null,
  };
}

describe("InFlightLimiter", () => {
  const prefix = uniquePrefix("inflight");
  const keys = redisKeys(prefix);
  let redis: Redis;
  let store: JobStore;
  let limiter: InFlightLimiter;

  /** What the submit path does: acquire, then store the job naming the set. */
  async function accept(principalId: string, id: string, using = limiter): Promise<void> {
    await using.acquire(principalId, id);
    await store.create(spec(id, principalId), { activeSet: using.key(principalId) });
  }

  beforeAll(() => {
    redis = testRedisConnection("inflight");
    store = new JobStore({ redis, keys, retentionSeconds: 3600 });
    limiter = new InFlightLimiter({ redis, prefix, jobKey: keys.job, maxInFlight: 3, retentionSeconds: 3600 });
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("caps a principal's jobs in flight and frees a slot when the job store ends a job (finish or cancel)", async () => {
    for (const id of ["a1", "a2", "a3"]) await accept("key:a", id);
    const error = await limiter.acquire("key:a", "a4").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: "RATE_LIMITED", status: 429, retryAfterSeconds: 2, details: { limit: "jobs-in-flight", maxInFlight: 3 } });
    // Other principals have their own count.
    await accept("key:b", "b1");

    expect(await store.claim("a1", "w1")).toBe("claimed");
    await store.finish("a1", { status: "succeeded", result: null, error: null, output: empty });
    expect(await limiter.count("key:a")).toBe(2);
    await accept("key:a", "a4");
    expect(await store.requestCancel("a2", { code: "CANCELED", message: "c", commandMayHaveRun: false })).toBe("canceled");
    expect(await limiter.count("key:a")).toBe(2);
    expect(await redis.smembers(inFlightJobsKey(prefix, "key:a"))).toEqual(expect.arrayContaining(["a3", "a4"]));
  });

  it("never admits more than the cap under concurrent acquires", async () => {
    const racing = new InFlightLimiter({ redis, prefix, jobKey: keys.job, maxInFlight: 5, retentionSeconds: 3600, sweepIntervalSeconds: 60 });
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => racing.acquire("key:race", `r${i}`)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    expect(await racing.count("key:race")).toBe(5);
  });

  it("acquiring the same job id twice counts it once, and release undoes an acquire", async () => {
    await limiter.acquire("key:c", "c1");
    await limiter.acquire("key:c", "c1");
    expect(await limiter.count("key:c")).toBe(1);
    await limiter.release("key:c", "c1");
    expect(await limiter.count("key:c")).toBe(0);
  });

  it("sweeps out ids whose job is gone or final, keeps live and just-acquired ones", async () => {
    const sweeping = new InFlightLimiter({ redis, prefix, jobKey: keys.job, maxInFlight: 10, retentionSeconds: 3600, pendingSeconds: 1 });
    await accept("key:d", "d-live", sweeping);
    // Created without naming the set (so the store cannot SREM it), then finished.
    await sweeping.acquire("key:d", "d-final");
    await store.create(spec("d-final", "key:d"));
    await store.finish("d-final", { status: "failed", result: null, error: null, output: empty });
    // An API process that crashed between acquire and store.create.
    await sweeping.acquire("key:d", "d-crashed");
    // A job whose hash expired or was deleted.
    await accept("key:d", "d-expired", sweeping);
    await redis.del(keys.job("d-expired"));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Acquired just now, job hash not written yet: must survive.
    await sweeping.acquire("key:d", "d-pending");

    expect(await sweeping.sweep("key:d")).toBe(3);
    expect((await redis.smembers(sweeping.key("key:d"))).sort()).toEqual(["d-live", "d-pending"]);
  });

  it("heals leaked capacity by itself when a principal hits its cap", async () => {
    const healing = new InFlightLimiter({ redis, prefix, jobKey: keys.job, maxInFlight: 2, retentionSeconds: 3600, pendingSeconds: 1 });
    await healing.acquire("key:e", "e-leak1");
    await healing.acquire("key:e", "e-leak2");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(healing.acquire("key:e", "e-new")).resolves.toEqual({ inFlight: 1 });
    // The sweep runs at most once per interval per principal: a full set of live jobs is refused without rescanning.
    await store.create(spec("e-new", "key:e"), { activeSet: healing.key("key:e") });
    await accept("key:e", "e-new2", healing);
    await expect(healing.acquire("key:e", "e-new3")).rejects.toBeInstanceOf(RateLimitedError);
  });

  it("bounds the set's lifetime by the job retention", async () => {
    const short = new InFlightLimiter({ redis, prefix, jobKey: keys.job, maxInFlight: 2, retentionSeconds: 600 });
    await short.acquire("key:f", "f1");
    const ttl = await redis.ttl(short.key("key:f"));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
  });
});
