import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Queue, Worker } from "bullmq";
import { BatchStore } from "@shell-exec/shared/batches/batch-store.ts";
import { execJobOptions } from "@shell-exec/shared/jobs/exec-queue.ts";
import { BatchDispatcher } from "./batch-dispatcher.ts";
import { ChainRestClient } from "@shell-exec/shared/akash/chain-client.ts";
import { ProviderTokenCache } from "@shell-exec/shared/akash/provider-jwt.ts";
import { TtlCache } from "@shell-exec/shared/akash/ttl-cache.ts";
import { loadWalletKeyring } from "@shell-exec/shared/keyring/wallet-keyring.ts";
import { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import type { ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import type { ExecQueueData } from "@shell-exec/shared/jobs/exec-queue.ts";
import { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import { SecretBox } from "@shell-exec/shared/secrets/secret-box.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { createRedisConnection } from "@shell-exec/shared/redis/connection.ts";
import { BATCH_QUEUE_NAME, EXEC_QUEUE_NAME, redisKeys } from "@shell-exec/shared/redis/keys.ts";
import { CancellationRegistry } from "./cancellations.ts";
import type { WorkerConfig } from "./config.ts";
import { processExecJob, type ProviderPort } from "./exec-processor.ts";
import { createProviderPort } from "./provider-port.ts";

export interface RunningWorker {
  readonly workerId: string;
  /** Stops taking jobs, lets running ones finish (up to the grace period), then closes every connection. */
  close(options?: { force?: boolean }): Promise<void>;
}

/**
 * One worker process: a BullMQ Worker (its own blocking connection), one command connection for the job store, one
 * subscription for cancels, the token cache and the provider client shared by all of the process's jobs.
 */
export async function startWorker(
  config: WorkerConfig & { REDIS_URL: string },
  logger: Logger,
  overrides: { provider?: ProviderPort } = {},
): Promise<RunningWorker> {
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const log = logger.child({ workerId });
  const keyring = loadWalletKeyring(config, { logger: log });
  if (keyring.size === 0) throw new Error("No signing keys: set AKASH_WALLET_MNEMONIC[_FILE], SHELL_EXEC_WALLET_KEYS_DIR or SHELL_EXEC_WALLET_KEYS");
  const keys = redisKeys(config.QUEUE_PREFIX);
  const redis = createRedisConnection(config.REDIS_URL, { purpose: "worker" });
  const subscriber = createRedisConnection(config.REDIS_URL, { purpose: "worker-subscriber" });
  const store = new JobStore({ redis, keys, retentionSeconds: config.RESULT_RETENTION_SECONDS });
  const cancellations = await CancellationRegistry.start({ subscriber, channel: keys.cancelChannel, logger: log });
  const chain = new ChainRestClient({ baseUrl: config.AKASH_REST_URL });
  const certificates = new TtlCache<string[]>({ maxEntries: 1_000 });
  const providerTls = async (provider: string): Promise<ProviderTlsPolicy> => ({
    insecureSkipVerify: config.PROVIDER_TLS_INSECURE,
    onChainCertificatesPem: config.PROVIDER_TLS_INSECURE
      ? []
      : await certificates.getOrLoad(provider, async () => ({ value: await chain.listCertificates(provider), ttlMs: 60_000 })),
  });
  const provider = overrides.provider ?? createProviderPort({ logger: log });
  const batchQueue = new Queue<ExecQueueData>(BATCH_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX, defaultJobOptions: execJobOptions({ attempts: config.SEND_RETRY_ATTEMPTS, backoffMs: config.SEND_RETRY_BACKOFF_MS }) });
  const dispatcher = new BatchDispatcher({
    batches: new BatchStore({ redis, keys, retentionSeconds: config.RESULT_RETENTION_SECONDS }),
    jobs: store,
    queue: batchQueue,
    logger: log,
  });
  const deps = {
    store,
    provider,
    keyring,
    audit: new AuditLog({ redis, prefix: config.QUEUE_PREFIX, retentionSeconds: config.AUDIT_RETENTION_SECONDS, logger: log }),
    tokens: new ProviderTokenCache({ ttlSeconds: config.PROVIDER_TOKEN_TTL_SECONDS }),
    providerTls,
    workerId,
    logger: log,
    connectTimeoutMs: config.PROVIDER_CONNECT_TIMEOUT_MS,
    deadlineGraceSeconds: config.DEADLINE_GRACE_SECONDS,
    cancellations,
    secretBox: config.SECRETS_KEYS ? new SecretBox(config.SECRETS_KEYS) : null,
    onBatchJobEnded: async (batchId: string) => void (await dispatcher.dispatch(batchId)),
  };
  const workerOptions = (name: string, concurrency: number) => ({
    connection: { url: config.REDIS_URL, connectionName: `shell-exec:${name}` },
    prefix: config.QUEUE_PREFIX,
    concurrency,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    // Re-delivery of a stalled job is safe: the claim decides between "run again" (never sent) and WORKER_LOST.
    maxStalledCount: 10,
  });
  const worker = new Worker<ExecQueueData>(EXEC_QUEUE_NAME, (job) => processExecJob(deps, job), workerOptions("worker-exec", config.WORKER_CONCURRENCY));
  const batchWorker = new Worker<ExecQueueData>(
    BATCH_QUEUE_NAME,
    (job) => processExecJob(deps, job),
    workerOptions("worker-batch", config.WORKER_BATCH_CONCURRENCY),
  );
  for (const w of [worker, batchWorker]) w.on("error", (error) => log.error({ err: error }, "worker error"));
  await Promise.all([worker.waitUntilReady(), batchWorker.waitUntilReady()]);
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    dispatcher
      .sweep()
      .catch((error: unknown) => log.warn({ err: error }, "batch sweep failed"))
      .finally(() => (sweeping = false));
  }, config.BATCH_SWEEP_INTERVAL_MS);
  log.info({ concurrency: config.WORKER_CONCURRENCY, wallets: keyring.addresses() }, "shell-exec worker ready");

  let closing: Promise<void> | undefined;
  return {
    workerId,
    close: (options = {}) =>
      (closing ??= (async () => {
        clearInterval(sweeper);
        await Promise.all([worker.close(options.force ?? false), batchWorker.close(options.force ?? false)]);
        await batchQueue.close();
        await cancellations.close();
        await subscriber.quit().catch(() => subscriber.disconnect());
        await redis.quit().catch(() => redis.disconnect());
      })()),
  };
}
