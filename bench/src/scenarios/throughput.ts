import type { BenchContext } from "../context.ts";
import { cpuTimeMs } from "../procs.ts";
import { fastService, redisCommandCalls, redisPid, startBenchStack } from "../stack.ts";
import { ratePerSecond } from "../stats.ts";

/**
 * (3) Throughput of the whole system: N clients, each in a loop `POST …/shell-exec?wait=30` (submit → queue →
 * worker → provider → stored result → answer), against one API process and one worker process, akash-sim's fast
 * responder. Counts answers 200 `succeeded` over a fixed window after a warm-up. Also reports each process's CPU per
 * job over the window, which says where the time goes.
 */
export async function throughput(ctx: BenchContext): Promise<void> {
  const clients = ctx.quick ? 16 : 32;
  const warmupMs = 3_000;
  const windowMs = ctx.quick ? 5_000 : 10_000;
  const stack = await startBenchStack(ctx, { name: "throughput", service: fastService(), httpConnections: clients });
  try {
    const pids = { api: stack.api.process.pid, worker: stack.worker!.process.pid, sim: stack.sim.process.pid, redis: await redisPid(stack.redis) };
    const body = { service: "web", command: "echo ok", timeout: 60 };
    const rates: number[] = [];
    const cpuPerJob: Record<keyof typeof pids, number[]> = { api: [], worker: [], sim: [], redis: [] };
    const commandsPerJob: number[] = [];
    let commandMix = "";
    for (let r = 0; r < ctx.repeats; r++) {
      let phase: "warmup" | "measure" | "done" = "warmup";
      let counted = 0;
      let failures = 0;
      let lastFailure = "";
      const loops = Array.from({ length: clients }, async () => {
        while (phase !== "done") {
          const answer = await stack.http.submit(body, { wait: 30 });
          if (answer.status === 200 && answer.body.status === "succeeded") {
            if (phase === "measure") counted++;
          } else {
            failures++;
            lastFailure = `${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, r === 0 ? warmupMs : 1_000));
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTimeMs(pid)])) as Record<keyof typeof pids, number>;
      const calls0 = await redisCommandCalls(stack.redis);
      counted = 0;
      phase = "measure";
      const t0 = performance.now();
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      const jobs = counted;
      const elapsed = performance.now() - t0;
      phase = "done";
      for (const key of Object.keys(pids) as (keyof typeof pids)[]) cpuPerJob[key].push((cpuTimeMs(pids[key]) - cpu0[key]) / jobs);
      const calls1 = await redisCommandCalls(stack.redis);
      // The bench's own INFO calls are 2 in all: negligible.
      const perCommand = [...calls1].map(([name, n]) => [name, (n - (calls0.get(name) ?? 0)) / jobs] as const).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
      commandsPerJob.push(perCommand.reduce((total, [, n]) => total + n, 0));
      commandMix = perCommand.map(([name, n]) => `${name} ${n.toFixed(1)}`).join(", ");
      await Promise.all(loops);
      if (failures) throw new Error(`${failures} requests did not end succeeded; last: ${lastFailure}`);
      rates.push(ratePerSecond(jobs, elapsed));
      ctx.log(
        `  repeat ${r + 1}: ${Math.round(rates.at(-1)!)} jobs/s; CPU ms/job ` +
          Object.entries(cpuPerJob).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(2)}`).join(", ") +
          `; Redis commands/job ${commandsPerJob.at(-1)!.toFixed(1)} (${commandMix})`,
      );
    }
    ctx.results.add({
      id: "3.system.throughput",
      scenario: 3,
      label: `whole system: ${clients} clients, submit ?wait → result`,
      unit: "jobs/s",
      values: rates,
      note: `${windowMs / 1000} s window per repeat after warm-up; 1 API process, 1 worker process (concurrency ${ctx.workerConcurrency}), fast responder`,
    });
    ctx.results.add({ id: "3.redisCommandsPerJob", scenario: 3, label: "Redis commands per job (all processes)", unit: "", values: commandsPerJob, note: `last repeat by command: ${commandMix}` });
    for (const [key, values] of Object.entries(cpuPerJob)) {
      ctx.results.add({ id: `3.cpuPerJob.${key}`, scenario: 3, label: `CPU per job: ${key} process`, unit: "ms", values });
    }
  } finally {
    await stack.stop();
  }
}
