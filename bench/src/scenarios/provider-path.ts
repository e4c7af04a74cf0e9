import { pino } from "pino";
import { ChainRestClient } from "@shell-exec/shared/akash/chain-client.ts";
import { ProviderTokenCache } from "@shell-exec/shared/akash/provider-jwt.ts";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import type { LeaseShellRequest } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { wrapCommand } from "@shell-exec/worker/command-wrapper.ts";
import { LeaseShellClient } from "@shell-exec/worker/provider/lease-shell-client.ts";
import type { BenchContext } from "../context.ts";
import { cpuTimeMs, startSimProcess } from "../procs.ts";
import { fastService, SINGLE_DSEQ } from "../stack.ts";
import { percentile, ratePerSecond } from "../stats.ts";

/**
 * (2) Provider-path limit: the worker's own LeaseShellClient in the bench process, against akash-sim (its own process,
 * fast responder), no Redis and no queue. Same request as the worker sends: ES256K token (cached), the provider's
 * on-chain certificate as TLS trust, the wrapped command line, 1 MiB cap. Sequential execs give the latency anchor of
 * (4); `concurrency` execs in flight give the provider path's throughput.
 */
export async function providerPath(ctx: BenchContext): Promise<void> {
  const mnemonic = AkashWallet.generateMnemonic();
  const wallet = AkashWallet.fromMnemonic(mnemonic);
  const sim = await startSimProcess(
    {
      wallets: [{ name: "tenant", mnemonic }],
      providers: [{ name: "provider" }],
      deployments: [{ owner: "tenant", dseq: SINGLE_DSEQ, leases: [{ provider: "provider", services: [fastService()] }] }],
    },
    { nodeArgs: ctx.profileArgs("provider-path-sim") },
  );
  try {
    const provider = sim.providers[0]!;
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    const certificates = await chain.listCertificates(provider.address);
    const tokens = new ProviderTokenCache();
    const client = new LeaseShellClient({ logger: pino({ level: "silent" }) });
    let n = 0;
    const request = (): LeaseShellRequest => {
      const jobId = `bench${n++}`;
      return {
        hostUri: provider.hostUri,
        dseq: SINGLE_DSEQ,
        gseq: 1,
        oseq: 1,
        service: "web",
        podIndex: 0,
        argv: wrapCommand({ jobId, mode: "shell", command: "echo ok", argv: null, timeoutSeconds: 60, workdir: null }),
        auth: { kind: "jwt", token: tokens.tokenFor(wallet, provider.address) },
        tls: { onChainCertificatesPem: certificates },
        deadlineMs: 70_000,
        maxOutputBytes: 1024 * 1024,
        connectTimeoutMs: 10_000,
        beforeSend: () => Promise.resolve(),
      };
    };
    const execOnce = async (): Promise<number> => {
      const t0 = performance.now();
      const outcome = await client.exec(request());
      const ms = performance.now() - t0;
      if (outcome.kind !== "exited" || outcome.exitCode !== 0) throw new Error(`provider exec failed: ${JSON.stringify({ ...outcome, stdout: outcome.stdout.toString(), stderr: outcome.stderr.toString() })}`);
      return ms;
    };

    const sequential = ctx.quick ? 200 : 500;
    const concurrentTotal = ctx.quick ? 1_000 : 3_000;
    const inFlight = ctx.workerConcurrency;
    for (let i = 0; i < 200; i++) await execOnce();
    const p50s: number[] = [];
    const p99s: number[] = [];
    const rates: number[] = [];
    const clientCpu: number[] = [];
    const simCpu: number[] = [];
    for (let r = 0; r < ctx.repeats; r++) {
      const latencies: number[] = [];
      for (let i = 0; i < sequential; i++) latencies.push(await execOnce());
      p50s.push(percentile(latencies, 50));
      p99s.push(percentile(latencies, 99));
      let left = concurrentTotal;
      const cpu0 = process.cpuUsage();
      const sim0 = cpuTimeMs(sim.process.pid);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (left-- > 0) await execOnce();
        }),
      );
      rates.push(ratePerSecond(concurrentTotal, performance.now() - t0));
      const cpu = process.cpuUsage(cpu0);
      clientCpu.push((cpu.user + cpu.system) / 1000 / concurrentTotal);
      simCpu.push((cpuTimeMs(sim.process.pid) - sim0) / concurrentTotal);
      ctx.log(
        `  repeat ${r + 1}: p50 ${p50s.at(-1)!.toFixed(2)} ms, p99 ${p99s.at(-1)!.toFixed(2)} ms, ${Math.round(rates.at(-1)!)} execs/s at ${inFlight} in flight; ` +
          `CPU ms/exec client ${clientCpu.at(-1)!.toFixed(2)}, akash-sim ${simCpu.at(-1)!.toFixed(2)}`,
      );
    }
    const note = `${sequential} sequential execs per repeat (after 200 warm-up), https + JWT + on-chain cert pin, fast responder`;
    ctx.results.add({ id: "2.provider.p50", scenario: 2, label: "provider path: direct lease-shell exec p50", unit: "ms", values: p50s, note });
    ctx.results.add({ id: "2.provider.p99", scenario: 2, label: "provider path: direct lease-shell exec p99", unit: "ms", values: p99s });
    ctx.results.add({
      id: "2.provider.throughput",
      scenario: 2,
      label: `provider path: execs/s at ${inFlight} in flight`,
      unit: "execs/s",
      values: rates,
      note: `${concurrentTotal} execs per repeat, ${inFlight} in flight from one process (as one worker)`,
    });
    ctx.results.add({ id: "2.cpuPerExec.client", scenario: 2, label: "CPU per exec: client (LeaseShellClient)", unit: "ms", values: clientCpu });
    ctx.results.add({ id: "2.cpuPerExec.sim", scenario: 2, label: "CPU per exec: akash-sim provider", unit: "ms", values: simCpu });
  } finally {
    await sim.stop();
  }
}
