import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext } from "../context.ts";
import { expectStatus, HttpClient, type HttpAnswer, type JobView } from "../http.ts";
import { cpuTimeMs, memoryOf, rssByMapping, spawnNode } from "../procs.ts";
import { API_KEY, fastService, startBenchStack } from "../stack.ts";
import { percentile } from "../stats.ts";
import { renderHeapDiff, summarizeHeap, type HeapSummary } from "../tools/heap-diff.ts";

const MB = 1_000_000;

/**
 * (5) Waiters: N jobs are queued with no worker running, then N concurrent `GET /jobs/{id}/wait?timeout=60` are held
 * open on one API process (its own process, so its RSS is its own), each on its own keep-alive socket from the bench.
 * With all of them parked, the API's RSS and its Redis connections (`CLIENT LIST`, names shell-exec:api*) are read.
 * Then a stand-in worker process (children/finisher.ts) ends the jobs through the worker's JobStore calls at a fixed
 * pace, and each answer's delay is measured from the job's `finishedAt` to the moment the bench has the whole answer.
 */
export async function waiters(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 2_000 : 10_000;
  const finishRate = 1_000;
  const repeats = Math.min(ctx.repeats, 2);
  const dir = await mkdtemp(join(tmpdir(), "shell-exec-bench-waiters-"));
  try {
    const freshRss: number[] = [];
    const body = { service: "web", command: "echo ok", timeout: 60 };
    const rss: number[] = [];
    const peakRss: number[] = [];
    const queuedRss: number[] = [];
    const connections: number[] = [];
    const p50s: number[] = [];
    const p99s: number[] = [];
    const maxDelays: number[] = [];
    let connectionNames = "";
    for (let r = 0; r < repeats; r++) {
      // A fresh stack per repeat, so each API process starts from nothing.
      const snapshotDir = join(dir, `heap-${r}`);
      if (ctx.heapSnapshots) await mkdir(snapshotDir, { recursive: true });
      const stack = await startBenchStack(ctx, {
        name: `waiters-${r + 1}`,
        service: fastService(),
        worker: false,
        httpConnections: 64,
        apiEnv: ctx.heapSnapshots ? { NODE_OPTIONS: `${ctx.nodeOptions} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}`.trim() } : {},
      });
      const waitClient = new HttpClient(stack.api.url, API_KEY, count);
      try {
        const apiPid = stack.api.process.pid;
        freshRss.push(memoryOf(apiPid).rss / MB);
        // Queue the jobs (no worker).
        const tSubmit = performance.now();
        const ids: string[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (next < count) {
              next++;
              const answer = await stack.http.submit(body);
              expectStatus(answer, 202);
              ids.push(answer.body.id);
            }
          }),
        );
        const before = memoryOf(apiPid).rss;
        const heapBefore = ctx.heapSnapshots ? await heapSnapshot(stack.api.process.pid, stack.api.url, snapshotDir) : null;
        const tPark = performance.now();
        ctx.log(`  ${count} jobs queued in ${((tPark - tSubmit) / 1000).toFixed(1)} s`);

        // Park the waiters: every request sent on its own socket, then the API idle (each one read and registered).
        const deadline = AbortSignal.timeout(150_000);
        const delays: number[] = [];
        let notFinished = 0;
        let lastProblem = "";
        const waits = ids.map((id) =>
          waitClient.request<JobView>("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=60`, undefined, deadline).then(
            (answer: HttpAnswer<JobView>) => {
              if (answer.status !== 200 || !answer.body.finishedAt) {
                notFinished++;
                lastProblem = `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
                return;
              }
              delays.push(performance.timeOrigin + answer.at - Date.parse(answer.body.finishedAt));
            },
            (error: unknown) => {
              notFinished++;
              lastProblem = String(error);
            },
          ),
        );
        const parkedBy = Date.now() + 90_000;
        const apiGone = () => {
          if (stack.api.process.exited()) throw new Error(`the API process exited with waiters parked:\n${stack.api.process.output().slice(-1500)}`);
        };
        while (waitClient.stats().running < count && Date.now() < parkedBy) {
          apiGone();
          await sleep(100);
        }
        for (;;) {
          apiGone();
          const c0 = cpuTimeMs(apiPid);
          await sleep(500);
          if (cpuTimeMs(apiPid) - c0 < 25 || Date.now() > parkedBy) break;
        }
        const parked = waitClient.stats();
        const tParked = performance.now();
        ctx.log(`  ${parked.running} waiters parked on ${parked.connected} sockets in ${((tParked - tPark) / 1000).toFixed(1)} s`);
        apiGone();
        if (parked.running < count) throw new Error(`only ${parked.running} of ${count} waits could be parked within 90 s (${notFinished} failed; last: ${lastProblem})`);
        rss.push(memoryOf(apiPid).rss / MB);
        const mappings = rssByMapping(apiPid);
        ctx.log(`  API RSS by mapping with the waiters parked: brk ${(mappings.brk / MB).toFixed(0)} MB, anon ${(mappings.anon / MB).toFixed(0)} MB, file ${(mappings.file / MB).toFixed(0)} MB`);
        queuedRss.push(before / MB);
        if (heapBefore) {
          const heapAfter = await heapSnapshot(apiPid, stack.api.url, snapshotDir);
          const diff = renderHeapDiff(heapBefore, heapAfter, count);
          ctx.log(diff.replace(/^/gm, "  heap: "));
          const lines = diff.split("\n");
          if (r === 0) ctx.results.notes.push(`(5) API heap snapshots before/after parking the waiters: ${lines[0]!}; ${lines.at(-1)!}`);
        }
        const names = await stack.redis.clientsByName();
        const apiConnections = [...names].filter(([name]) => name.startsWith("shell-exec:api"));
        connections.push(apiConnections.reduce((total, [, n]) => total + n, 0));
        connectionNames = apiConnections.map(([name, n]) => `${name} ×${n}`).join(", ");

        // End the jobs at a fixed pace.
        const idsFile = join(dir, `ids-${r}.json`);
        await writeFile(idsFile, JSON.stringify(ids));
        const finisher = spawnNode({
          name: "finisher",
          script: "bench/src/children/finisher.ts",
          args: [idsFile],
          env: { REDIS_URL: stack.redis.url, QUEUE_PREFIX: stack.prefix, BENCH_RATE: String(finishRate) },
          ipc: true,
        });
        await Promise.all(waits);
        await finisher.stop();
        ctx.log(`  all answered ${((performance.now() - tParked) / 1000).toFixed(1)} s after the finisher started`);
        peakRss.push(memoryOf(apiPid).peakRss / MB);
        if (notFinished) throw new Error(`${notFinished} of ${count} waits did not answer 200 with a finished job; last: ${lastProblem}`);
        p50s.push(percentile(delays, 50));
        p99s.push(percentile(delays, 99));
        maxDelays.push(Math.max(...delays));
        ctx.log(
          `  repeat ${r + 1}: API RSS ${rss.at(-1)!.toFixed(0)} MB (fresh ${freshRss.at(-1)!.toFixed(0)} MB, jobs queued ${queuedRss.at(-1)!.toFixed(0)} MB, ` +
            `peak ${peakRss.at(-1)!.toFixed(0)} MB), Redis connections ${connections.at(-1)} (${connectionNames}), ` +
            `delay p50 ${p50s.at(-1)!.toFixed(1)} ms p99 ${p99s.at(-1)!.toFixed(1)} ms max ${maxDelays.at(-1)!.toFixed(0)} ms`,
        );
      } finally {
        await waitClient.close();
        await stack.stop();
      }
    }
    const label = `${count.toLocaleString("en-US")} waiters`;
    ctx.results.add({ id: "5.waiters.redisConnections", scenario: 5, label: `${label}: API's Redis connections`, unit: "", values: connections, note: connectionNames });
    ctx.results.add({ id: "5.waiters.freshRss", scenario: 5, label: "API RSS fresh after start (anchor)", unit: "MB", values: freshRss });
    ctx.results.add({
      id: "5.waiters.rss",
      scenario: 5,
      label: `${label}: API RSS`,
      unit: "MB",
      values: rss,
      note:
        `with the ${count.toLocaleString("en-US")} jobs queued and no waiter yet: ${queuedRss.map((v) => v.toFixed(0)).join(", ")} MB; ` +
        `peak (VmHWM) while answering: ${peakRss.map((v) => v.toFixed(0)).join(", ")} MB`,
    });
    ctx.results.compare("5.waiters.rss", "5.waiters.freshRss", "difference");
    ctx.results.add({ id: "5.waiters.delay.p50", scenario: 5, label: `${label}: finishedAt → answer p50`, unit: "ms", values: p50s });
    ctx.results.add({
      id: "5.waiters.delay.p99",
      scenario: 5,
      label: `${label}: finishedAt → answer p99`,
      unit: "ms",
      values: p99s,
      note: `jobs ended by a stand-in worker at ${finishRate.toLocaleString("en-US")}/s through JobStore.finish; max ${maxDelays.map((v) => v.toFixed(0)).join(", ")} ms`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Makes the API write a heap snapshot (SIGUSR2 with --heapsnapshot-signal) and summarises it. */
async function heapSnapshot(pid: number, url: string, dir: string): Promise<HeapSummary> {
  const known = new Set(await readdir(dir).catch(() => [] as string[]));
  process.kill(pid, "SIGUSR2");
  let file: string | undefined;
  for (let i = 0; i < 600 && !file; i++) {
    await sleep(100);
    file = (await readdir(dir).catch(() => [] as string[])).find((f) => f.endsWith(".heapsnapshot") && !known.has(f));
  }
  if (!file) throw new Error("the API wrote no heap snapshot within 60 s");
  // The snapshot is written on the main thread: once the API answers again, the file is complete.
  await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(120_000) })).arrayBuffer();
  const text = await readFile(join(dir, file), "utf8");
  await rm(join(dir, file));
  return summarizeHeap(JSON.parse(text) as Parameters<typeof summarizeHeap>[0]);
}
