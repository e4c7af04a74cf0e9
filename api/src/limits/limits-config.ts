import type { Redis } from "ioredis";
import { z } from "zod";
import { ConfigError } from "@shell-exec/shared/config/env.ts";
import { InFlightLimiter } from "./in-flight-limiter.ts";
import { SubmitRateLimiter, type SubmitRate } from "./submit-rate-limiter.ts";

const overrideSchema = z
  .object({
    ratePerMinute: z.number().int().min(0).optional(),
    burst: z.number().int().min(1).optional(),
    maxInFlight: z.number().int().min(0).optional(),
  })
  .strict();

/** Spread into the API's env schema. */
export const limitsEnvShape = {
  /** Submits per minute per principal (sustained). 0 turns the rate limit off. */
  SUBMIT_RATE_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /** Submits a principal may make at once after a quiet spell. Default: SUBMIT_RATE_PER_MINUTE / 6 (10 s worth), at least 1. */
  SUBMIT_RATE_BURST: z.coerce.number().int().min(1).optional(),
  /** Jobs queued or running per principal. 0 turns the cap off. */
  MAX_JOBS_IN_FLIGHT_PER_PRINCIPAL: z.coerce.number().int().min(0).default(1000),
  /** JSON: `{"<principal id>": {"ratePerMinute"?, "burst"?, "maxInFlight"?}}`. */
  SHELL_EXEC_LIMIT_OVERRIDES: z.string().optional(),
};
export type LimitsEnv = z.output<z.ZodObject<typeof limitsEnvShape>>;

function parseOverrides(text: string | undefined): Record<string, z.output<typeof overrideSchema>> {
  if (!text) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(["SHELL_EXEC_LIMIT_OVERRIDES: not valid JSON"]);
  }
  const parsed = z.record(z.string().min(1), overrideSchema).safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `SHELL_EXEC_LIMIT_OVERRIDES: ${issue.path.join(".")}: ${issue.message}`));
  }
  return parsed.data;
}

/** Both limiters as the environment configures them. */
export function limitersFromEnv(
  env: LimitsEnv,
  deps: { redis: Redis; prefix: string; jobKey: (jobId: string) => string; retentionSeconds: number },
): { submitRate: SubmitRateLimiter; inFlight: InFlightLimiter } {
  const overrides = parseOverrides(env.SHELL_EXEC_LIMIT_OVERRIDES);
  const rate: SubmitRate = { ratePerMinute: env.SUBMIT_RATE_PER_MINUTE, burst: env.SUBMIT_RATE_BURST ?? Math.max(1, Math.floor(env.SUBMIT_RATE_PER_MINUTE / 6)) };
  const rateOverrides: Record<string, SubmitRate> = {};
  const inFlightOverrides: Record<string, number> = {};
  for (const [principalId, override] of Object.entries(overrides)) {
    if (override.ratePerMinute !== undefined || override.burst !== undefined) {
      const ratePerMinute = override.ratePerMinute ?? rate.ratePerMinute;
      rateOverrides[principalId] = { ratePerMinute, burst: override.burst ?? Math.max(1, Math.floor(ratePerMinute / 6)) };
    }
    if (override.maxInFlight !== undefined) inFlightOverrides[principalId] = override.maxInFlight;
  }
  return {
    submitRate: new SubmitRateLimiter({ redis: deps.redis, prefix: deps.prefix, rate, overrides: rateOverrides }),
    inFlight: new InFlightLimiter({
      redis: deps.redis,
      prefix: deps.prefix,
      jobKey: deps.jobKey,
      maxInFlight: env.MAX_JOBS_IN_FLIGHT_PER_PRINCIPAL,
      overrides: inFlightOverrides,
      retentionSeconds: deps.retentionSeconds,
    }),
  };
}
