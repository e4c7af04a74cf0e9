import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import type { AkashSimSeed, ServiceSeed } from "@shell-exec/akash-sim";
import type { BenchContext } from "./context.ts";
import { HttpClient } from "./http.ts";
import {
  startApiProcess, startRedis, startSimProcess, startWorkerProcess, type BenchRedis, type RunningApiProcess,
  type RunningSim, type RunningWorkerProcess,
} from "./procs.ts";

export const API_KEY = "bench-api-key-0123456789abcdef";
export const SINGLE_DSEQ = "1000";

/** A service answered in-process by the simulator (no child process): where the point is the system, not `sh`. */
export function fastService(stdout = "ok\n"): ServiceSeed {
  return { name: "web", replicas: 1, responder: { mode: "fast", stdout } };
}

/** A service whose execs run as real child processes in the replica's sandbox. */
export function realService(): ServiceSeed {
  return { name: "web", replicas: 1 };
}

export interface StackOptions {
  /** Name used for profiles. */
  name: string;
  service: ServiceSeed;
  /** Extra deployments of the tenant (each with one lease on the provider running `service`), by dseq. */
  extraDseqs?: string[];
  /** Start the worker process now (false: call startWorker() later). */
  worker?: boolean;
  apiEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Waiters need more sockets than the default HTTP pool. */
  httpConnections?: number;
}

export interface BenchStack {
  redis: BenchRedis;
  sim: RunningSim;
  api: RunningApiProcess;
  worker: RunningWorkerProcess | null;
  http: HttpClient;
  wallet: AkashWallet;
  mnemonic: string;
  prefix: string;
  env: Record<string, string>;
  startWorker(): Promise<RunningWorkerProcess>;
  stop(): Promise<void>;
}

/** Redis, akash-sim, the API and (optionally) one worker, each in its own process; torn down by stop(). */
export async function startBenchStack(ctx: BenchContext, options: StackOptions): Promise<BenchStack> {
  const mnemonic = AkashWallet.generateMnemonic();
  const wallet = AkashWallet.fromMnemonic(mnemonic);
  const lease = { provider: "provider", services: [options.service] };
  const seed: AkashSimSeed = {
    wallets: [{ name: "tenant", mnemonic }],
    providers: [{ name: "provider" }],
    deployments: [SINGLE_DSEQ, ...(options.extraDseqs ?? [])].map((dseq) => ({ owner: "tenant", dseq, leases: [lease] })),
  };
  const cleanup: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of cleanup.reverse()) await step().catch((error: unknown) => ctx.log(`  stop: ${String(error)}`));
    cleanup.length = 0;
  };
  try {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const sim = await startSimProcess(seed, { nodeArgs: ctx.profileArgs(`${options.name}-sim`) });
    cleanup.push(() => sim.stop());
    const prefix = "bench";
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      AKASH_REST_URL: sim.chainUrl,
      AKASH_WALLET_MNEMONIC: mnemonic,
      LOG_LEVEL: ctx.logLevel,
      ...(ctx.nodeOptions ? { NODE_OPTIONS: ctx.nodeOptions } : {}),
    };
    const api = await startApiProcess(
      {
        ...env,
        SHELL_EXEC_API_KEYS: API_KEY,
        SHUTDOWN_GRACE_SECONDS: "5",
        // The bench is one principal driving the whole system: per-principal limits would measure the policy instead.
        SUBMIT_RATE_PER_MINUTE: "0",
        MAX_JOBS_IN_FLIGHT_PER_PRINCIPAL: "0",
        ...options.apiEnv,
      },
      { nodeArgs: ctx.profileArgs(`${options.name}-api`) },
    );
    cleanup.push(() => api.stop());
    const http = new HttpClient(api.url, API_KEY, options.httpConnections ?? 256);
    cleanup.push(() => http.close());
    const stack: BenchStack = {
      redis,
      sim,
      api,
      worker: null,
      http,
      wallet,
      mnemonic,
      prefix,
      env,
      async startWorker() {
        const worker = await startWorkerProcess(
          { ...env, WORKER_CONCURRENCY: String(ctx.workerConcurrency), SHUTDOWN_GRACE_SECONDS: "5", ...options.workerEnv },
          { nodeArgs: ctx.profileArgs(`${options.name}-worker`) },
        );
        // Stopped before the API (cleanup runs in reverse).
        cleanup.push(() => worker.stop());
        stack.worker = worker;
        return worker;
      },
      stop,
    };
    if (options.worker !== false) await stack.startWorker();
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The Redis server's own pid (for its CPU time). */
export async function redisPid(redis: BenchRedis): Promise<number> {
  const info = await redis.client.info("server");
  return Number(/process_id:(\d+)/.exec(info)?.[1]);
}

/** `INFO commandstats` as calls per command (lower-case names). */
export async function redisCommandCalls(redis: BenchRedis): Promise<Map<string, number>> {
  const info = await redis.client.info("commandstats");
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}
