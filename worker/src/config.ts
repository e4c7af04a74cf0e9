import { z } from "zod";
import { booleanFromEnv, commonEnvSchema, parseEnv } from "@shell-exec/shared/config/env.ts";
import { secretKeysSchema } from "@shell-exec/shared/secrets/secret-box.ts";
import { auditEnvShape } from "@shell-exec/shared/audit/audit-config.ts";
import { walletKeyringEnvShape } from "@shell-exec/shared/keyring/wallet-keyring.ts";

export const workerEnvSchema = commonEnvSchema.extend({
  ...walletKeyringEnvShape,
  ...auditEnvShape,
  AKASH_REST_URL: z.url({ message: "must be the chain REST (LCD) base URL" }),
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
  return parseEnv(workerEnvSchema, env);
}
