import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { JobStore } from "../jobs/job-store.ts";
import type { JobSpec } from "../jobs/job-model.ts";
import { redisKeys } from "../redis/keys.ts";
import { resolveMaxErrors, type BatchSpec } from "./batch-model.ts";
import { BatchStore } from "./batch-store.ts";

const WALLET = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";
const empty = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

function jobSpec(batchId: string, index: number): JobSpec {
  return {
    id: `${batchId}-j${index}`,
    principalId: "key:test",
    wallet: WALLET,
    target: { dseq: String(100 + index), gseq: 1, oseq: 1, service: "web", podIndex: 0, provider: WALLET },
    hostUri: "https://provider.invalid:8443",
    request: { mode: "shell", command: "true", argv: null, timeout: 60, workdir: null, maxOutputBytes: 1024, stdinBytes: 0, files: [], envNames: [] },
    createdAt: new Date().toISOString(),
    batchId,
  };
}

describe("BatchStore", () => {
  const prefix = uniquePrefix("batch");
  const keys = redisKeys(prefix);
  let redis: Redis;
  let jobs: JobStore;
  let batches: BatchStore;

  beforeAll(() => {
    redis = testRedisConnection("batch");
    jobs = new JobStore({ redis, keys, retentionSeconds: 3600 });
    batches = new BatchStore({ redis, keys, retentionSeconds: 3600 });
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  async function createBatch(id: string, total: number, concurrency: number, maxErrors: number | string | null): Promise<void> {
    const spec: BatchSpec = {
      id,
      principalId: "key:test",
      wallet: WALLET,
      total,
      concurrency,
      maxErrorsInput: maxErrors,
      maxErrors: resolveMaxErrors(maxErrors, total),
      createdAt: new Date().toISOString(),
    };
    await batches.create(spec, Array.from({ length: total }, (_, i) => ({ spec: jobSpec(id, i), sealedSecrets: i === 0 ? "sealed" : null })));
  }

  async function runToEnd(id: string, status: "succeeded" | "failed"): Promise<void> {
    expect(await jobs.claim(id, "w")).toBe("claimed");
    await jobs.finish(id, { status, result: null, error: null, output: empty });
  }

  it("dispatches no more than `concurrency` at once and completes with exact counts", async () => {
    await createBatch("b1", 7, 3, null);
    const first = await batches.dispatch("b1");
    expect(first).toEqual(["b1-j0", "b1-j1", "b1-j2"]);
    expect(await batches.dispatch("b1")).toEqual([]);
    await runToEnd("b1-j0", "succeeded");
    expect((await batches.get("b1"))?.counts).toMatchObject({ queued: 6, running: 0, succeeded: 1 });
    expect(await batches.dispatch("b1")).toEqual(["b1-j3"]);
    let next = ["b1-j1", "b1-j2", "b1-j3"];
    while (next.length > 0) {
      for (const id of next) await runToEnd(id, "succeeded");
      next = await batches.dispatch("b1");
    }
    const done = await batches.get("b1");
    expect(done).toMatchObject({ status: "completed", inflight: 0, counts: { queued: 0, running: 0, succeeded: 7, skipped: 0 } });
    expect(done?.finishedAt).not.toBeNull();
    expect(await batches.activeBatchIds()).not.toContain("b1");
  });

  it("stops dispatching once more targets than maxErrors fail, and skips the rest", async () => {
    await createBatch("b2", 10, 2, "10%");
    expect((await batches.get("b2"))?.maxErrors).toBe(1);
    let next = await batches.dispatch("b2");
    await runToEnd(next[0]!, "failed");
    await runToEnd(next[1]!, "succeeded");
    next = await batches.dispatch("b2");
    expect(next).toHaveLength(2);
    await runToEnd(next[0]!, "failed");
    await runToEnd(next[1]!, "failed");
    expect(await batches.dispatch("b2")).toEqual([]);
    const stopped = await batches.get("b2");
    expect(stopped).toMatchObject({ status: "stopped", counts: { succeeded: 1, failed: 3, skipped: 6, queued: 0 } });
    expect(stopped?.finishedAt).not.toBeNull();
    expect((await jobs.get("b2-j9"))?.status).toBe("skipped");
    expect((await jobs.get("b2-j9"))?.error?.code).toBe("SKIPPED");
  });

  it("cancels: pending targets end canceled, dispatched ones are handed back for a job cancel", async () => {
    await createBatch("b3", 5, 2, null);
    const live = await batches.dispatch("b3");
    await jobs.claim(live[0]!, "w");
    const result = await batches.cancel("b3");
    expect(result.outcome).toBe("canceled");
    expect(result.outcome === "canceled" ? [...result.liveJobIds].sort() : []).toEqual([...live].sort());
    expect((await batches.get("b3"))?.counts).toMatchObject({ canceled: 3, queued: 1, running: 1 });
    const error = { code: "CANCELED" as const, message: "x", commandMayHaveRun: false };
    for (const id of live) await jobs.requestCancel(id, error);
    await jobs.finish(live[0]!, { status: "canceled", result: null, error, output: empty });
    await batches.dispatch("b3");
    const canceled = await batches.get("b3");
    expect(canceled).toMatchObject({ status: "canceled", counts: { canceled: 5, queued: 0, running: 0 } });
    expect(canceled?.finishedAt).not.toBeNull();
  });

  it("lists job ids in target order and creates 10,000 targets in well under a second", async () => {
    expect(await batches.jobIds("b1", 2, 3)).toEqual(["b1-j2", "b1-j3", "b1-j4"]);
    const started = performance.now();
    await createBatch("big", 10_000, 20, null);
    const elapsed = performance.now() - started;
    expect((await batches.get("big"))?.counts.queued).toBe(10_000);
    expect(elapsed).toBeLessThan(5_000);
  });
});
