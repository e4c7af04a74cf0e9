import { readFileSync } from "node:fs";
import { z } from "zod";
import { booleanFromEnv, commonEnvSchema, parseEnv } from "@shell-exec/shared/config/env.ts";
import { secretKeysSchema } from "@shell-exec/shared/secrets/secret-box.ts";

export const workerEnvSchema = commonEnvSchema.extend({
  AKASH_REST_URL: z.url({ message: "must be the chain REST (LCD) base URL" }),
  AKASH_WALLET_MNEMONIC: z.string().optional(),
  AKASH_WALLET_MNEMONIC_FILE: z.string().optional(),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  /** Slots for batch targets, separate from single execs so a big batch never delays them. */
  WORKER_BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  BATCH_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /** For batch targets the worker enqueues itself; same meaning as the API's. */
  SEND_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  SEND_RETRY_BACKOFF_MS: z.coerce.number().int().min(10).default(1_000),
  PROVIDER_TLS_INSECURE: booleanFromEnv.default(false),
  PROVIDER_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Extra seconds the worker waits past a command's own timeout before it gives up on the provider. */
  DEADLINE_GRACE_SECONDS: z.coerce.number().int().min(1).default(10),
  RESULT_RETENTION_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /** BullMQ lock: a worker that stops renewing it for this long is considered gone. */
  LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(30_000),
  STALLED_INTERVAL_MS: z.coerce.number().int().min(1000).default(15_000),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).default(30),
  PROVIDER_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  /** The same keys as the API's: opens the secret-grade inputs it sealed. */
  SECRETS_KEYS: secretKeysSchema.optional(),
});
export type WorkerConfig = z.output<typeof workerEnvSchema>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const config = parseEnv(workerEnvSchema, env);
  if (!config.AKASH_WALLET_MNEMONIC && !config.AKASH_WALLET_MNEMONIC_FILE) {
    throw new Error("Invalid configuration:\n  - AKASH_WALLET_MNEMONIC or AKASH_WALLET_MNEMONIC_FILE: one is required to sign provider tokens");
  }
  return config;
}

export function readWalletMnemonic(config: WorkerConfig): string {
  return config.AKASH_WALLET_MNEMONIC ?? readFileSync(config.AKASH_WALLET_MNEMONIC_FILE!, "utf8").trim();
}
