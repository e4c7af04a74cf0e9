import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, startTestStack, webService, type TestStack } from "../stack.ts";

interface BatchBody {
  id: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  finishedAt: string | null;
  rejected: { index: number; error: { code: string } }[];
}

const TARGETS = 1_000;
const FAST = 5_000;

async function waitBatch(stack: TestStack, id: string, seconds = 120): Promise<BatchBody> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const response = await stack.request("GET", `/v1/shell-exec/batches/${id}/wait?timeout=30`);
    if (response.status === 200) return response.body as BatchBody;
    if (Date.now() > deadline) throw new Error(`batch ${id} did not end: ${JSON.stringify(response.body)}`);
  }
}

describe("batches, end to end", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      workerEnv: { WORKER_BATCH_CONCURRENCY: "16" },
      deployments: [
        { owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService()] }] },
        ...Array.from({ length: TARGETS }, (_, i) => ({ owner: "tenant", dseq: String(10_000 + i), leases: [{ provider: "provider", services: [webService()] }] })),
        ...Array.from({ length: FAST }, (_, i) => ({
          owner: "tenant",
          dseq: String(100_000 + i),
          leases: [{ provider: "provider", services: [webService({ responder: { mode: "fast" as const, stdout: "ok\n", stderr: "", exitCode: 0 } })] }],
        })),
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("runs 1,000 targets with per-target files to completion with exact counts; each file is in its sandbox", async () => {
    const targets = Array.from({ length: TARGETS }, (_, i) => ({
      dseq: String(10_000 + i),
      gseq: 1,
      oseq: 1,
      files: [{ path: "/run/secrets/token", content: `token-${i}` }],
    }));
    const created = await stack.request("POST", "/v1/shell-exec/batches", {
      defaults: { service: "web", command: "test -s /run/secrets/token" },
      targets: [...targets, { dseq: "999999", gseq: 1, oseq: 1 }],
      concurrency: 20,
    });
    expect(created.status).toBe(202);
    const batch = created.body as BatchBody;
    expect(batch.total).toBe(TARGETS);
    expect(batch.rejected.map((r) => [r.index, r.error.code])).toEqual([[TARGETS, "DEPLOYMENT_NOT_FOUND"]]);
    const done = await waitBatch(stack, batch.id, 240);
    expect(done).toMatchObject({ status: "completed", counts: { succeeded: TARGETS, failed: 0, error: 0, queued: 0, running: 0, skipped: 0 } });
    if (stack.sim.pathsIsolated) {
      for (const i of [0, 1, 499, 999]) {
        const sandbox = stack.sim.sandboxDir({ dseq: String(10_000 + i), gseq: 1, oseq: 1, service: "web", podIndex: 0 });
        expect(await readFile(join(sandbox, "run/secrets/token"), "utf8")).toBe(`token-${i}`);
      }
    }
    const page = await stack.request("GET", `/v1/shell-exec/batches/${batch.id}/jobs?limit=3`);
    expect((page.body as { jobs: { status: string; target: { dseq: string } }[] }).jobs.map((j) => j.target.dseq)).toEqual(["10000", "10001", "10002"]);
  }, 300_000);

  it("stops dispatch once maxErrors is exceeded and skips the rest", async () => {
    const targets = Array.from({ length: 20 }, (_, i) => ({ dseq: String(10_000 + i), gseq: 1, oseq: 1, ...(i < 5 ? { command: "exit 1" } : {}) }));
    const created = await stack.request("POST", "/v1/shell-exec/batches", { defaults: { service: "web", command: "true" }, targets, concurrency: 1, maxErrors: 2 });
    expect(created.status).toBe(202);
    const done = await waitBatch(stack, (created.body as BatchBody).id);
    expect(done).toMatchObject({ status: "stopped", counts: { failed: 3, succeeded: 0, skipped: 17, queued: 0, running: 0 } });
  }, 120_000);

  it("cancel stops queued targets and cancels running ones", async () => {
    const targets = Array.from({ length: 10 }, (_, i) => ({ dseq: String(10_100 + i), gseq: 1, oseq: 1 }));
    const created = await stack.request("POST", "/v1/shell-exec/batches", { defaults: { service: "web", command: "sleep 60", timeout: 120 }, targets, concurrency: 2 });
    const id = (created.body as BatchBody).id;
    for (let i = 0; i < 100; i++) {
      const batch = (await stack.request("GET", `/v1/shell-exec/batches/${id}`)).body as BatchBody;
      if (batch.counts.running === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const canceled = await stack.request("DELETE", `/v1/shell-exec/batches/${id}`);
    expect(canceled.status).toBe(202);
    const done = await waitBatch(stack, id, 60);
    expect(done).toMatchObject({ status: "canceled", counts: { canceled: 10, queued: 0, running: 0 } });
  }, 120_000);

  it("single execs still complete quickly while a 5,000-target batch runs", async () => {
    const targets = Array.from({ length: FAST }, (_, i) => ({ dseq: String(100_000 + i), gseq: 1, oseq: 1 }));
    const started = performance.now();
    const created = await stack.request("POST", "/v1/shell-exec/batches", { defaults: { service: "web", command: "true" }, targets, concurrency: 16 });
    const acceptMs = performance.now() - started;
    expect(created.status).toBe(202);
    expect(acceptMs).toBeLessThan(10_000);
    const id = (created.body as BatchBody).id;
    const single = performance.now();
    const job = await runJob(stack, { service: "web", command: "echo single" });
    const singleMs = performance.now() - single;
    expect(job.status).toBe("succeeded");
    const during = (await stack.request("GET", `/v1/shell-exec/batches/${id}`)).body as BatchBody;
    expect(during.finishedAt).toBeNull();
    expect(singleMs).toBeLessThan(5_000);
    await stack.request("DELETE", `/v1/shell-exec/batches/${id}`);
    await waitBatch(stack, id, 60);
  }, 180_000);
});
