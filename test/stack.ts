import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { startAkashSim, type AkashSim, type AkashSimSeed, type ServiceSeed } from "../akash-sim/src/index.ts";
import { startApi, type RunningApi } from "../api/src/start-api.ts";
import { apiEnvSchema } from "../api/src/config.ts";
import { AkashWallet } from "../shared/src/akash/wallet.ts";
import { SecretBox } from "../shared/src/secrets/secret-box.ts";
import { workerEnvSchema } from "../worker/src/config.ts";
import { startWorker, type RunningWorker } from "../worker/src/start-worker.ts";
import { deleteKeysWithPrefix, testRedisConnection, testRedisUrl, uniquePrefix } from "./redis.ts";

const REPO_ROOT = join(import.meta.dirname, "..");
export const TEST_API_KEY = "stack-test-key-0123456789";

export interface StackOptions {
  /** Deployments of the test wallet (owner filled in); default: dseq 1000 with one lease running service `web`. */
  deployments?: AkashSimSeed["deployments"];
  /** Extra wallets (e.g. another tenant's), by name. */
  wallets?: AkashSimSeed["wallets"];
  /** In-process workers to start (0 for tests that start worker processes themselves). */
  workers?: number;
  workerEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  logger?: Logger;
}

export interface TestStack {
  sim: AkashSim;
  api: RunningApi;
  workers: RunningWorker[];
  wallet: AkashWallet;
  mnemonic: string;
  prefix: string;
  /** The environment a worker process of this stack needs. */
  workerProcessEnv: Record<string, string>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; headers: Headers }>;
  startWorkerProcess(extraEnv?: Record<string, string>): Promise<ChildProcess>;
  stop(): Promise<void>;
}

export function webService(overrides: Partial<ServiceSeed> = {}): ServiceSeed {
  return { name: "web", replicas: 1, ...overrides };
}

/**
 * A whole shell-exec on this machine: akash-sim (chain REST + one HTTPS provider running real child processes), the
 * API and workers over the harness Redis, under a prefix of its own. The worker trusts the provider through the
 * certificate it publishes on chain, as it would in production.
 */
export async function startTestStack(options: StackOptions = {}): Promise<TestStack> {
  const logger = options.logger ?? pino({ level: process.env.STACK_LOG_LEVEL ?? "silent" });
  const mnemonic = AkashWallet.generateMnemonic();
  const wallet = AkashWallet.fromMnemonic(mnemonic);
  const prefix = uniquePrefix("stack");
  const sim = await startAkashSim({
    seed: {
      wallets: [{ name: "tenant", mnemonic }, ...(options.wallets ?? [])],
      providers: [{ name: "provider" }],
      deployments: (options.deployments ?? [{ owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService()] }] }]).map((d) => ({
        ...d,
        owner: d.owner ?? "tenant",
      })),
    },
    logger,
  });
  const secretsKeys = `k1:${SecretBox.generateKey()}`;
  const common = {
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    AKASH_REST_URL: sim.chainUrl,
    AKASH_WALLET_MNEMONIC: mnemonic,
    SECRETS_KEYS: secretsKeys,
    LOG_LEVEL: "silent",
    SEND_RETRY_ATTEMPTS: "2",
    SEND_RETRY_BACKOFF_MS: "100",
  };
  const workerProcessEnv: Record<string, string> = {
    ...common,
    LOCK_DURATION_MS: "4000",
    STALLED_INTERVAL_MS: "2000",
    SHUTDOWN_GRACE_SECONDS: "5",
    DEADLINE_GRACE_SECONDS: "3",
    BATCH_SWEEP_INTERVAL_MS: "1000",
    ...options.workerEnv,
  };
  const api = await startApi(
    { ...apiEnvSchema.parse({ ...common, PORT: "0", HOST: "127.0.0.1", SHELL_EXEC_API_KEYS: TEST_API_KEY, CHAIN_CACHE_SECONDS: "0", ...options.apiEnv }), REDIS_URL: testRedisUrl() },
    logger,
  );
  const workers: RunningWorker[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    workers.push(await startWorker({ ...workerEnvSchema.parse(workerProcessEnv), REDIS_URL: testRedisUrl() }, logger));
  }
  const children = new Set<ChildProcess>();

  return {
    sim,
    api,
    workers,
    wallet,
    mnemonic,
    prefix,
    workerProcessEnv,
    async request(method, path, body, headers = {}) {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: { "x-api-key": TEST_API_KEY, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null, headers: response.headers };
    },
    async startWorkerProcess(extraEnv = {}) {
      const child = fork(join(REPO_ROOT, "worker/src/main.ts"), [], {
        env: { ...process.env, ...workerProcessEnv, ...extraEnv },
        stdio: ["ignore", "ignore", "pipe", "ipc"],
      });
      children.add(child);
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      child.once("exit", () => children.delete(child));
      await new Promise<void>((resolve, reject) => {
        child.once("message", () => resolve());
        child.once("exit", (code) => reject(new Error(`worker process exited (${code}) before ready:\n${stderr}`)));
      });
      return child;
    },
    async stop() {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGKILL");
          await exited;
        }
      }
      await Promise.all(workers.map((w) => w.close({ force: true })));
      await api.close();
      await sim.stop();
      const redis = testRedisConnection("stack-cleanup");
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    },
  };
}

export interface JobBody {
  id: string;
  status: string;
  result: { stdout: string; stderr: string; exitCode: number | null; truncated: boolean; stdoutBytes: number; stderrBytes: number; stdoutBase64: string | null } | null;
  error: { code: string; message: string; commandMayHaveRun: boolean } | null;
}

/** Submits and waits (long poll) until the job ends; fails the test if it has not after `seconds`. */
export async function runJob(stack: TestStack, body: unknown, options: { dseq?: string; seconds?: number } = {}): Promise<JobBody> {
  const submitted = await stack.request("POST", `/v1/deployments/${options.dseq ?? "1000"}/leases/1/1/shell-exec`, body);
  if (submitted.status !== 202 && submitted.status !== 200) throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  const job = submitted.body as JobBody;
  const deadline = Date.now() + (options.seconds ?? 30) * 1000;
  for (;;) {
    const waited = await stack.request("GET", `/v1/shell-exec/jobs/${job.id}/wait?timeout=${Math.min(30, Math.max(1, Math.ceil((deadline - Date.now()) / 1000)))}`);
    if (waited.status === 200) return waited.body as JobBody;
    if (Date.now() > deadline) throw new Error(`job ${job.id} did not end: ${JSON.stringify(waited.body)}`);
  }
}
