import type { BenchContext } from "../context.ts";
import { expectStatus, queueWaitMs } from "../http.ts";
import { fastService, startBenchStack } from "../stack.ts";
import { percentile, ratePerSecond } from "../stats.ts";

interface BatchAnswer {
  id: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  rejected: unknown[];
}

/**
 * (7) Batch: `POST /v1/shell-exec/batches` with 10,000 targets (10,000 deployments of the tenant, each a fast
 * responder), timed to its 202 (validate, resolve every lease on chain, store 10,000 jobs). While the batch runs, one
 * client runs single execs one after another (`?wait=10`), and their queue wait (createdAt → startedAt) is compared
 * with the same measured at idle just before, over a fixed window; then the batch is canceled (a whole 10,000-target
 * run would take minutes here). The chain cache is off (CHAIN_CACHE_SECONDS=0) so every accept resolves cold.
 */
export async function batch(ctx: BenchContext): Promise<void> {
  const targets = ctx.quick ? 2_000 : 10_000;
  const repeats = Math.min(ctx.repeats, 2);
  const windowMs = ctx.quick ? 5_000 : 15_000;
  const firstDseq = 2_000_000;
  const dseqs = Array.from({ length: targets }, (_, i) => String(firstDseq + i));
  const stack = await startBenchStack(ctx, {
    name: "batch",
    service: fastService(),
    extraDseqs: dseqs,
    apiEnv: { CHAIN_CACHE_SECONDS: "0" },
    httpConnections: 4,
  });
  try {
    const single = { service: "web", command: "echo ok", timeout: 60 };
    const latencies: { idle: number[]; busy: number[] } = { idle: [], busy: [] };
    const runSingle = async (phase?: "idle" | "busy") => {
      const t0 = performance.now();
      const answer = await stack.http.submit(single, { wait: 10 });
      expectStatus(answer, 200);
      if (answer.body.status !== "succeeded") throw new Error(`single exec ended ${answer.body.status}`);
      if (phase) latencies[phase].push(answer.at - t0);
      return queueWaitMs(answer.body);
    };
    for (let i = 0; i < 100; i++) await runSingle();
    const acceptMs: number[] = [];
    const batchRates: number[] = [];
    const idleP50: number[] = [];
    const idleP99: number[] = [];
    const busyP50: number[] = [];
    const busyP99: number[] = [];
    let singlesDuring = 0;
    for (let r = 0; r < repeats; r++) {
      const idle: number[] = [];
      for (let i = 0; i < 200; i++) idle.push(await runSingle("idle"));
      idleP50.push(percentile(idle, 50));
      idleP99.push(percentile(idle, 99));

      const t0 = performance.now();
      const created = await stack.http.request<BatchAnswer>("POST", "/v1/shell-exec/batches", {
        defaults: { service: "web", command: "echo ok", timeout: 60 },
        targets: dseqs.map((dseq) => ({ dseq, gseq: 1, oseq: 1 })),
        concurrency: 100,
      });
      expectStatus(created, 202);
      acceptMs.push(created.at - t0);
      if (created.body.total !== targets) throw new Error(`batch accepted ${created.body.total} of ${targets} targets: ${JSON.stringify(created.body.rejected).slice(0, 500)}`);

      // Single execs one after another while the batch runs, for a fixed window; then the batch is canceled.
      const busy: number[] = [];
      const windowEnd = performance.now() + windowMs;
      while (performance.now() < windowEnd) busy.push(await runSingle("busy"));
      const during = await stack.http.request<BatchAnswer>("GET", `/v1/shell-exec/batches/${created.body.id}`);
      expectStatus(during, 200);
      const elapsed = performance.now() - created.at;
      const done = during.body.counts.succeeded ?? 0;
      const notOk = Object.entries(during.body.counts).filter(([status, n]) => n > 0 && !["succeeded", "queued", "running"].includes(status));
      if (notOk.length) throw new Error(`batch targets ended badly: ${JSON.stringify(during.body.counts)}`);
      const canceled = await stack.http.request<BatchAnswer>("DELETE", `/v1/shell-exec/batches/${created.body.id}`);
      expectStatus(canceled, 202, 409);
      const ended = await stack.http.request<BatchAnswer>("GET", `/v1/shell-exec/batches/${created.body.id}/wait?timeout=30`);
      expectStatus(ended, 200);
      batchRates.push(ratePerSecond(done, elapsed));
      busyP50.push(percentile(busy, 50));
      busyP99.push(percentile(busy, 99));
      singlesDuring += busy.length;
      ctx.log(
        `  repeat ${r + 1}: accept ${acceptMs.at(-1)!.toFixed(0)} ms, ${done} targets done in the ${windowMs / 1000} s window (${batchRates.at(-1)!.toFixed(0)} targets/s), then canceled; ` +
          `single queue wait idle p50 ${idleP50.at(-1)!.toFixed(1)} p99 ${idleP99.at(-1)!.toFixed(1)} ms, during batch p50 ${busyP50.at(-1)!.toFixed(1)} p99 ${busyP99.at(-1)!.toFixed(1)} ms (${busy.length} execs)`,
      );
    }
    const n = targets.toLocaleString("en-US");
    ctx.results.add({ id: "7.batch.accept", scenario: 7, label: `batch of ${n} targets: accept time (POST → 202)`, unit: "ms", values: acceptMs, note: "cold chain cache: one listing of the owner's leases" });
    ctx.results.add({
      id: "7.batch.rate",
      scenario: 7,
      label: `batch of ${n} targets: targets succeeded per second while it runs`,
      unit: "targets/s",
      values: batchRates,
      note: `over the first ${windowMs / 1000} s after the 202, then the batch is canceled; concurrency 100 asked, the worker's batch slots (WORKER_BATCH_CONCURRENCY, default 8) bound it`,
    });
    ctx.results.add({ id: "7.idle.singleWait.p99", scenario: 7, label: "single exec queue wait at idle p99 (anchor)", unit: "ms", values: idleP99, note: `p50 ${idleP50.map((v) => v.toFixed(1)).join(", ")} ms; 200 execs` });
    ctx.results.add({
      id: "7.batch.singleWait.p99",
      scenario: 7,
      label: "single exec queue wait during the batch p99",
      unit: "ms",
      values: busyP99,
      note: `p50 ${busyP50.map((v) => v.toFixed(1)).join(", ")} ms; ${singlesDuring} execs in all, one at a time, ms resolution (createdAt → startedAt)`,
    });
    ctx.results.add({ id: "7.idle.singleLatency.p50", scenario: 7, label: "single exec ?wait latency at idle p50 (anchor)", unit: "ms", values: [percentile(latencies.idle, 50)], note: "all repeats pooled" });
    ctx.results.add({ id: "7.batch.singleLatency.p50", scenario: 7, label: "single exec ?wait latency during the batch p50", unit: "ms", values: [percentile(latencies.busy, 50)], note: "all repeats pooled" });
    ctx.results.compare("7.batch.singleLatency.p50", "7.idle.singleLatency.p50", "ratio");
  } finally {
    await stack.stop();
  }
}
