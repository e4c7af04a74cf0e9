import { serve, type ServerType } from "@hono/node-server";
import { Queue } from "bullmq";
import type { AddressInfo } from "node:net";
import { ChainRestClient } from "@shell-exec/shared/akash/chain-client.ts";
import { createLeaseTargetCache, resolveLeaseTarget, resolveLeaseTargets } from "@shell-exec/shared/akash/lease-target.ts";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { execJobOptions, type ExecQueueData } from "@shell-exec/shared/jobs/exec-queue.ts";
import { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import { SecretBox } from "@shell-exec/shared/secrets/secret-box.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { createRedisConnection } from "@shell-exec/shared/redis/connection.ts";
import { BATCH_QUEUE_NAME, EXEC_QUEUE_NAME, redisKeys } from "@shell-exec/shared/redis/keys.ts";
import { BatchStore } from "@shell-exec/shared/batches/batch-store.ts";
import { BatchService } from "./services/batch.service.ts";
import { createApp } from "./app.ts";
import type { PrincipalSource } from "./auth/principal.ts";
import { StaticApiKeySource } from "./auth/static-api-keys.ts";
import { ApiKeyStore } from "./auth/api-key-store.ts";
import { jwtPrincipalSourceFromEnv } from "./auth/jwt-config.ts";
import { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import { loadWalletKeyring } from "@shell-exec/shared/keyring/wallet-keyring.ts";
import { commandPolicyFromEnv } from "./policy/command-policy.ts";
import { limitersFromEnv } from "./limits/limits-config.ts";
import { readMnemonic, type ApiConfig } from "./config.ts";
import { JobWaiters } from "./jobs/job-waiters.ts";
import { ShellExecService } from "./services/shell-exec.service.ts";

export interface RunningApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Wires one API process: two Redis connections in all (commands + the job-finished subscription), one Queue on the
 * command connection, the chain client with its cache, and the HTTP server.
 */
export async function startApi(config: ApiConfig & { REDIS_URL: string }, logger: Logger): Promise<RunningApi> {
  const wallet = resolveWalletAddress(config);
  const keys = redisKeys(config.QUEUE_PREFIX);
  const jobOptions = execJobOptions({ attempts: config.SEND_RETRY_ATTEMPTS, backoffMs: config.SEND_RETRY_BACKOFF_MS });
  const redis = createRedisConnection(config.REDIS_URL, { purpose: "api" });
  const subscriber = createRedisConnection(config.REDIS_URL, { purpose: "api-subscriber" });
  const queue = new Queue<ExecQueueData>(EXEC_QUEUE_NAME, {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    defaultJobOptions: jobOptions,
  });
  const batchQueue = new Queue<ExecQueueData>(BATCH_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX, defaultJobOptions: jobOptions });
  const store = new JobStore({ redis, keys, retentionSeconds: config.RESULT_RETENTION_SECONDS });
  const waiters = await JobWaiters.start({ subscriber, channel: keys.jobFinishedChannel, logger });
  const chain = new ChainRestClient({ baseUrl: config.AKASH_REST_URL });
  const targetCache = createLeaseTargetCache();
  const targetTtl = { foundMs: config.CHAIN_CACHE_SECONDS * 1000, notFoundMs: Math.min(2_000, config.CHAIN_CACHE_SECONDS * 1000) };
  const secretBox = config.SECRETS_KEYS ? new SecretBox(config.SECRETS_KEYS) : null;
  const audit = new AuditLog({ redis, prefix: config.QUEUE_PREFIX, retentionSeconds: config.AUDIT_RETENTION_SECONDS, logger });
  const policy = commandPolicyFromEnv(config);
  // The API holds keys only to know which wallets can be acted for; without any key configuration it cannot tell.
  const keyring = loadWalletKeyring(config, { logger });
  const hasSigningKey = (address: string) => keyring.size === 0 || keyring.has(address);
  const { submitRate, inFlight } = limitersFromEnv(config, {
    redis,
    prefix: config.QUEUE_PREFIX,
    jobKey: (id) => keys.job(id),
    retentionSeconds: config.RESULT_RETENTION_SECONDS,
  });
  const resolveTarget = (input: Parameters<typeof resolveLeaseTarget>[1]) => resolveLeaseTarget({ chain, cache: targetCache, ttl: targetTtl }, input);
  const shellExec = new ShellExecService({
    store,
    queue,
    waiters,
    resolveLeaseTarget: resolveTarget,
    logger,
    maxQueuedJobs: config.MAX_QUEUED_JOBS,
    secretBox,
    policy,
    submitRate,
    inFlight,
    audit,
    hasSigningKey,
  });
  const batches = new BatchService({
    jobs: store,
    batches: new BatchStore({ redis, keys, retentionSeconds: config.RESULT_RETENTION_SECONDS }),
    queue: batchQueue,
    waiters,
    resolveLeaseTargets: (owner, leases) => resolveLeaseTargets({ chain, cache: targetCache, ttl: targetTtl }, owner, leases),
    secretBox,
    logger,
    policy,
    submitRate,
    audit,
    hasSigningKey,
  });
  // API keys from Redis (created with the api-keys CLI), the static single-wallet keys, and bearer JWTs.
  const principalSources: PrincipalSource[] = [new ApiKeyStore({ redis, prefix: config.QUEUE_PREFIX })];
  if (config.SHELL_EXEC_API_KEYS?.length) principalSources.push(new StaticApiKeySource({ keys: config.SHELL_EXEC_API_KEYS, wallet }));
  const jwt = jwtPrincipalSourceFromEnv(config, logger);
  if (jwt) principalSources.push(jwt);
  const app = createApp({
    shellExec,
    batches,
    principalSources,
    redis,
    logger,
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxBatchBodyBytes: config.MAX_BATCH_BODY_BYTES,
    audit,
  });

  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST;
  logger.info({ port, wallet }, "shell-exec API listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Waiters end their long polls at once (they answer 202 with the job as it stands).
          void waiters.close();
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        await queue.close();
        await batchQueue.close();
        await subscriber.quit().catch(() => subscriber.disconnect());
        await redis.quit().catch(() => redis.disconnect());
      })()),
  };
}

/** The single-wallet mode wallet that SHELL_EXEC_API_KEYS act for (keys from Redis and JWTs carry their own). */
function resolveWalletAddress(config: ApiConfig): string {
  const mnemonic = readMnemonic(config);
  if (mnemonic) return AkashWallet.fromMnemonic(mnemonic).address;
  if (config.AKASH_WALLET_ADDRESS) return config.AKASH_WALLET_ADDRESS;
  if (config.SHELL_EXEC_API_KEYS?.length) {
    throw new Error("SHELL_EXEC_API_KEYS needs the wallet they act for: AKASH_WALLET_MNEMONIC, AKASH_WALLET_MNEMONIC_FILE or AKASH_WALLET_ADDRESS");
  }
  return "";
}
