import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext } from "../context.ts";
import { expectStatus, HttpClient, type HttpAnswer, type JobView } from "../http.ts";
import { cpuTimeMs, memoryOf, spawnNode } from "../procs.ts";
import { API_KEY, fastService, startBenchStack } from "../stack.ts";
import { percentile } from "../stats.ts";

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
  const stack = await startBenchStack(ctx, { name: "waiters", service: fastService(), worker: false, httpConnections: 64 });
  const waitClient = new HttpClient(stack.api.url, API_KEY, count);
  const dir = await mkdtemp(join(tmpdir(), "shell-exec-bench-waiters-"));
  try {
    const apiPid = stack.api.process.pid;
    const freshRss = memoryOf(apiPid).rss / MB;
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
      const tPark = performance.now();
      ctx.log(`  ${count} jobs queued in ${((tPark - tSubmit) / 1000).toFixed(1)} s`);

      // Park the waiters: every request sent on its own socket, then the API idle (each one read and registered).
      const deadline = AbortSignal.timeout(150_000);
      const delays: number[] = [];
      let notFinished = 0;
      const waits = ids.map((id) =>
        waitClient.request<JobView>("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=60`, undefined, deadline).then((answer: HttpAnswer<JobView>) => {
          if (answer.status !== 200 || !answer.body.finishedAt) {
            notFinished++;
            return;
          }
          delays.push(performance.timeOrigin + answer.at - Date.parse(answer.body.finishedAt));
        }),
      );
      const parkedBy = Date.now() + 90_000;
      while (waitClient.stats().running < count && Date.now() < parkedBy) await sleep(100);
      for (;;) {
        const c0 = cpuTimeMs(apiPid);
        await sleep(500);
        if (cpuTimeMs(apiPid) - c0 < 25 || Date.now() > parkedBy) break;
      }
      const parked = waitClient.stats();
      const tParked = performance.now();
      ctx.log(`  ${parked.running} waiters parked on ${parked.connected} sockets in ${((tParked - tPark) / 1000).toFixed(1)} s`);
      if (parked.running < count) throw new Error(`only ${parked.running} of ${count} waits could be parked within 90 s`);
      rss.push(memoryOf(apiPid).rss / MB);
      queuedRss.push(before / MB);
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
      if (notFinished) throw new Error(`${notFinished} of ${count} waits did not answer 200 with a finished job`);
      p50s.push(percentile(delays, 50));
      p99s.push(percentile(delays, 99));
      maxDelays.push(Math.max(...delays));
      ctx.log(
        `  repeat ${r + 1}: API RSS ${rss.at(-1)!.toFixed(0)} MB (fresh ${freshRss.toFixed(0)} MB, jobs queued ${queuedRss.at(-1)!.toFixed(0)} MB, ` +
          `peak ${peakRss.at(-1)!.toFixed(0)} MB), Redis connections ${connections.at(-1)} (${connectionNames}), ` +
          `delay p50 ${p50s.at(-1)!.toFixed(1)} ms p99 ${p99s.at(-1)!.toFixed(1)} ms max ${maxDelays.at(-1)!.toFixed(0)} ms`,
      );
    }
    const label = `${count.toLocaleString("en-US")} waiters`;
    ctx.results.add({ id: "5.waiters.redisConnections", scenario: 5, label: `${label}: API's Redis connections`, unit: "", values: connections, note: connectionNames });
    ctx.results.add({ id: "5.waiters.freshRss", scenario: 5, label: "API RSS fresh after start (anchor)", unit: "MB", values: [freshRss] });
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
    await waitClient.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
