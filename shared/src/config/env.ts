import { z } from "zod";

export class ConfigError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Reads the environment once through a zod schema. Every bad variable is reported together, by name, with what was
 * expected, so a misconfigured process fails at start-up with one actionable message.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  // Empty strings mean "unset" (docker-compose and shells produce them), so defaults apply.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"}: ${issue.message}`),
  );
}

export const portSchema = z.coerce.number().int().min(0).max(65535);

export const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export const redisUrlSchema = z
  .string()
  .refine((value) => /^rediss?:\/\//.test(value), { message: "must be a redis:// or rediss:// URL" });

/** Settings every process shares. */
export const commonEnvSchema = z.object({
  REDIS_URL: redisUrlSchema.optional(),
  LOG_LEVEL: logLevelSchema.default("info"),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, '_' and '-' only")
    .default("shell-exec"),
});
export type CommonEnv = z.output<typeof commonEnvSchema>;

export const booleanFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((value) => value === "true" || value === "1" || value === "yes");
