import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { redisKeys } from "../redis/keys.ts";
import type { JobSpec } from "./job-model.ts";
import { JobStore } from "./job-store.ts";

const WALLET = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";

function spec(id: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    principalId: "key:test",
    wallet: WALLET,
    target: { dseq: "100", gseq: 1, oseq: 1, service: "web", podIndex: 0, provider: WALLET },
    hostUri: "https://provider.invalid:8443",
    request: { mode: "shell", command: "true", argv: null, timeout: 60, workdir: null, maxOutputBytes: 1024, stdinBytes: 0, files: [], envNames: [] },
    createdAt: new Date().toISOString(),
    batchId: null,
    ...overrides,
  };
}

const empty = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

describe("JobStore", () => {
  const prefix = uniquePrefix("store");
  const keys = redisKeys(prefix);
  let redis: Redis;
  let subscriber: Redis;
  let store: JobStore;

  beforeAll(() => {
    redis = testRedisConnection("store");
    subscriber = testRedisConnection("store-sub");
    store = new JobStore({ redis, keys, retentionSeconds: 3600 });
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
    await subscriber.quit();
  });

  it("walks queued → running → sent → finished, publishing the end exactly once", async () => {
    await subscriber.subscribe(keys.jobFinishedChannel);
    const published: string[] = [];
    subscriber.on("message", (_channel: string, id: string) => published.push(id));
    await store.create(spec("j1"), { sealedSecrets: "v1.k.sealed" });
    expect(await store.claim("j1", "w1")).toBe("claimed");
    expect(await store.markSent("j1")).toBe(true);
    const finished = await store.finish("j1", {
      status: "failed",
      result: { exitCode: 3, truncated: false, stdoutBytes: 2, stderrBytes: 0, durationMs: 5 },
      error: null,
      output: { stdout: Buffer.from([0xff, 0x0a]), stderr: Buffer.alloc(0) },
    });
    expect(finished).toBe(true);
    expect(await store.finish("j1", { status: "succeeded", result: null, error: null, output: empty })).toBe(false);
    const record = await store.get("j1");
    expect(record).toMatchObject({ status: "failed", result: { exitCode: 3 }, attempts: 1 });
    expect(record?.sentAt).not.toBeNull();
    expect((await store.getOutput("j1")).stdout).toEqual(Buffer.from([0xff, 0x0a]));
    expect(await store.getSealedSecrets("j1")).toBeNull();
    await expect.poll(() => published).toEqual(["j1"]);
    expect(await redis.ttl(keys.job("j1"))).toBeGreaterThan(3500);
    await subscriber.unsubscribe(keys.jobFinishedChannel);
  });

  it("treats a re-delivered running job by its marker: never sent → run again, sent → lost", async () => {
    await store.create(spec("j2"));
    expect(await store.claim("j2", "w1")).toBe("claimed");
    expect(await store.claim("j2", "w2")).toBe("claimed");
    expect(await store.markSent("j2")).toBe(true);
    expect(await store.claim("j2", "w3")).toBe("lost");
    expect(await store.claim("missing", "w3")).toBe("missing");
  });

  it("cancels a queued job for good, and records a cancel request for a running one", async () => {
    const error = { code: "CANCELED" as const, message: "x", commandMayHaveRun: false };
    await store.create(spec("j3"), { sealedSecrets: "sealed" });
    expect(await store.requestCancel("j3", error)).toBe("canceled");
    expect(await store.claim("j3", "w1")).toBe("final");
    expect(await store.getSealedSecrets("j3")).toBeNull();

    await store.create(spec("j4"));
    expect(await store.claim("j4", "w1")).toBe("claimed");
    expect(await store.requestCancel("j4", error)).toBe("cancel-requested");
    expect(await store.markSent("j4")).toBe(false);
    expect(await store.claim("j4", "w2")).toBe("cancel-requested");
    await store.finish("j4", { status: "canceled", result: null, error, output: empty });
    expect(await store.requestCancel("j4", error)).toBe("canceled");
  });

  it("requeues only a running job for a retry and clears its marker", async () => {
    await store.create(spec("j5"));
    expect(await store.requeueForRetry("j5")).toBe(false);
    await store.claim("j5", "w1");
    await store.markSent("j5");
    expect(await store.requeueForRetry("j5")).toBe(true);
    expect(await store.get("j5")).toMatchObject({ status: "queued", sentAt: null });
  });

  it("lists a wallet's jobs newest first with filters and a cursor that pages without repeats", async () => {
    const listPrefix = uniquePrefix("list");
    const listStore = new JobStore({ redis, keys: redisKeys(listPrefix), retentionSeconds: 3600 });
    const base = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 25; i++) {
      await listStore.create(spec(`l${String(i).padStart(2, "0")}`, { createdAt: new Date(base + Math.floor(i / 3) * 1000).toISOString(), target: { ...spec("x").target, dseq: i % 2 ? "7" : "8" } }));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listStore.list({ wallet: WALLET, limit: 4, cursor });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen[0]).toBe("l24");
    const odd = await listStore.list({ wallet: WALLET, limit: 50, dseq: "7" });
    expect(odd.jobs).toHaveLength(12);
    expect(await listStore.list({ wallet: "akash1other", limit: 10 })).toEqual({ jobs: [], nextCursor: null });
    await deleteKeysWithPrefix(redis, listPrefix);
  });

  it("binds an idempotency key once", async () => {
    expect(await store.reserveIdempotencyKey("p", "k", { jobId: "a", fingerprint: "f" })).toBeNull();
    expect(await store.reserveIdempotencyKey("p", "k", { jobId: "b", fingerprint: "g" })).toEqual({ jobId: "a", fingerprint: "f" });
    expect(await store.reserveIdempotencyKey("q", "k", { jobId: "c", fingerprint: "g" })).toBeNull();
  });

  it("forgets a job after its retention: the record, output and index entry are gone", async () => {
    const shortPrefix = uniquePrefix("retention");
    const shortStore = new JobStore({ redis, keys: redisKeys(shortPrefix), retentionSeconds: 1 });
    await shortStore.create(spec("r1"));
    await shortStore.claim("r1", "w");
    await shortStore.finish("r1", { status: "succeeded", result: null, error: null, output: { stdout: Buffer.from("x"), stderr: Buffer.alloc(0) } });
    expect(await shortStore.get("r1")).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await shortStore.get("r1")).toBeNull();
    expect((await shortStore.list({ wallet: WALLET, limit: 10 })).jobs).toEqual([]);
  });
});
