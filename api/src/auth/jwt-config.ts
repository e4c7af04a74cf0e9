import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "@shell-exec/shared/config/env.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { JWT_ALGORITHMS, JwtPrincipalSource, type JwtKeySource } from "./jwt-principal-source.ts";

const list = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));

/**
 * Environment for bearer JWTs; spread into the API's env schema (`apiEnvSchema.extend(jwtEnvShape)`). Bearer auth is
 * on when a JWKS URL or a public key is set, and then issuer and audience are required.
 */
export const jwtEnvShape = {
  SHELL_EXEC_JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** PEM (SPKI public key or X.509 certificate) or a JWK as JSON. */
  SHELL_EXEC_JWT_PUBLIC_KEY: z.string().optional(),
  SHELL_EXEC_JWT_PUBLIC_KEY_FILE: z.string().optional(),
  /** Comma-separated accepted `iss` values. */
  SHELL_EXEC_JWT_ISSUER: list.pipe(z.array(z.string()).min(1)).optional(),
  /** Comma-separated accepted `aud` values. */
  SHELL_EXEC_JWT_AUDIENCE: list.pipe(z.array(z.string()).min(1)).optional(),
  SHELL_EXEC_JWT_ALGORITHMS: list.pipe(z.array(z.enum(JWT_ALGORITHMS)).min(1)).default([...JWT_ALGORITHMS]),
  SHELL_EXEC_JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  SHELL_EXEC_JWT_WALLET_CLAIM: z.string().min(1).default("akash_wallet"),
  SHELL_EXEC_JWT_PERMISSIONS_CLAIM: z.string().min(1).default("permissions"),
};
export const jwtEnvSchema = z.object(jwtEnvShape);
export type JwtEnv = z.output<typeof jwtEnvSchema>;

/** The bearer-token source the environment asks for, or null when bearer auth is not configured. */
export function jwtPrincipalSourceFromEnv(env: JwtEnv, logger?: Logger): JwtPrincipalSource | null {
  const keySources = [env.SHELL_EXEC_JWT_JWKS_URL, env.SHELL_EXEC_JWT_PUBLIC_KEY, env.SHELL_EXEC_JWT_PUBLIC_KEY_FILE].filter(Boolean);
  if (keySources.length === 0) return null;
  const issues: string[] = [];
  if (keySources.length > 1) {
    issues.push("SHELL_EXEC_JWT_JWKS_URL, SHELL_EXEC_JWT_PUBLIC_KEY, SHELL_EXEC_JWT_PUBLIC_KEY_FILE: set only one");
  }
  if (!env.SHELL_EXEC_JWT_ISSUER) issues.push("SHELL_EXEC_JWT_ISSUER: required with bearer JWTs (the accepted `iss`)");
  if (!env.SHELL_EXEC_JWT_AUDIENCE) issues.push("SHELL_EXEC_JWT_AUDIENCE: required with bearer JWTs (the accepted `aud`)");
  if (issues.length > 0 || !env.SHELL_EXEC_JWT_ISSUER || !env.SHELL_EXEC_JWT_AUDIENCE) throw new ConfigError(issues);
  let key: JwtKeySource;
  if (env.SHELL_EXEC_JWT_JWKS_URL) key = { kind: "jwks", url: new URL(env.SHELL_EXEC_JWT_JWKS_URL) };
  else if (env.SHELL_EXEC_JWT_PUBLIC_KEY) key = { kind: "public-key", key: env.SHELL_EXEC_JWT_PUBLIC_KEY };
  else key = { kind: "public-key", key: readFileSync(env.SHELL_EXEC_JWT_PUBLIC_KEY_FILE!, "utf8") };
  try {
    return new JwtPrincipalSource({
      key,
      issuer: env.SHELL_EXEC_JWT_ISSUER,
      audience: env.SHELL_EXEC_JWT_AUDIENCE,
      algorithms: env.SHELL_EXEC_JWT_ALGORITHMS,
      clockToleranceSeconds: env.SHELL_EXEC_JWT_CLOCK_TOLERANCE_SECONDS,
      walletClaim: env.SHELL_EXEC_JWT_WALLET_CLAIM,
      permissionsClaim: env.SHELL_EXEC_JWT_PERMISSIONS_CLAIM,
      ...(logger ? { logger } : {}),
    });
  } catch (error) {
    throw new ConfigError([`SHELL_EXEC_JWT_*: ${error instanceof Error ? error.message : String(error)}`]);
  }
}
