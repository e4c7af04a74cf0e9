import { readFileSync } from "node:fs";
import { z } from "zod";
import { commonEnvSchema, parseEnv, portSchema } from "@shell-exec/shared/config/env.ts";
import { secretKeysSchema } from "@shell-exec/shared/secrets/secret-box.ts";
import { auditEnvShape } from "@shell-exec/shared/audit/audit-config.ts";
import { jwtEnvShape } from "./auth/jwt-config.ts";
import { walletKeyringEnvShape } from "@shell-exec/shared/keyring/wallet-keyring.ts";
import { limitsEnvShape } from "./limits/limits-config.ts";
import { commandPolicyEnvShape } from "./policy/command-policy.ts";

export const apiEnvSchema = commonEnvSchema.extend({
  ...walletKeyringEnvShape,
  ...jwtEnvShape,
  ...limitsEnvShape,
  ...commandPolicyEnvShape,
  ...auditEnvShape,
  PORT: portSchema.default(8080),
  HOST: z.string().default("0.0.0.0"),
  AKASH_REST_URL: z.url({ message: "must be the chain REST (LCD) base URL, e.g. https://api.akashnet.net" }),
  AKASH_WALLET_MNEMONIC: z.string().optional(),
  AKASH_WALLET_MNEMONIC_FILE: z.string().optional(),
  AKASH_WALLET_ADDRESS: z.string().regex(/^akash1[a-z0-9]{38}$/, "an akash1… address").optional(),
  SHELL_EXEC_API_KEYS: z
    .string()
    .transform((value) => value.split(",").map((key) => key.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(16, "API keys must be at least 16 characters")).min(1))
    .optional(),
  RESULT_RETENTION_SECONDS: z.coerce.number().int().min(60).default(86_400),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  MAX_BATCH_BODY_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  MAX_QUEUED_JOBS: z.coerce.number().int().min(1).default(100_000),
  CHAIN_CACHE_SECONDS: z.coerce.number().min(0).default(10),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).default(10),
  /** Attempts for sends that certainly did not reach the provider (refused, 5xx, TLS); never for one that may have run. */
  SEND_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  SEND_RETRY_BACKOFF_MS: z.coerce.number().int().min(10).default(1_000),
  /** `id:base64(32 bytes)[,id:key…]`, active first: seals secret-grade inputs at rest. */
  SECRETS_KEYS: secretKeysSchema.optional(),
});
export type ApiConfig = z.output<typeof apiEnvSchema>;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return parseEnv(apiEnvSchema, env);
}

export function readMnemonic(config: { AKASH_WALLET_MNEMONIC?: string | undefined; AKASH_WALLET_MNEMONIC_FILE?: string | undefined }): string | undefined {
  if (config.AKASH_WALLET_MNEMONIC) return config.AKASH_WALLET_MNEMONIC;
  if (config.AKASH_WALLET_MNEMONIC_FILE) return readFileSync(config.AKASH_WALLET_MNEMONIC_FILE, "utf8").trim();
  return undefined;
}
