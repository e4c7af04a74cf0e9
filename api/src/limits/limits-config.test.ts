import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "@shell-exec/shared/config/env.ts";
import { redisKeys } from "@shell-exec/shared/redis/keys.ts";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { limitersFromEnv, limitsEnvShape } from "./limits-config.ts";

const envSchema = z.object(limitsEnvShape);

describe("limitersFromEnv", () => {
  const prefix = uniquePrefix("limits-env");
  let redis: Redis;

  beforeAll(() => {
    redis = testRedisConnection("limits-env");
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  const build = (env: Record<string, string>) =>
    limitersFromEnv(envSchema.parse(env), { redis, prefix, jobKey: redisKeys(prefix).job, retentionSeconds: 3600 });

  it("defaults the burst to ten seconds' worth and applies per-principal overrides", async () => {
    const { submitRate, inFlight } = build({
      SUBMIT_RATE_PER_MINUTE: "30",
      SHELL_EXEC_LIMIT_OVERRIDES: JSON.stringify({ "key:big": { burst: 7 }, "key:tiny": { maxInFlight: 1 } }),
    });
    const takes = async (principal: string, n: number) => (await Promise.all(Array.from({ length: n }, () => submitRate.take(principal)))).filter((r) => r.allowed).length;
    expect(await takes("key:default", 8)).toBe(5);
    expect(await takes("key:big", 10)).toBe(7);
    await inFlight.acquire("key:tiny", "t1");
    await expect(inFlight.acquire("key:tiny", "t2")).rejects.toMatchObject({ code: "RATE_LIMITED" });
  });

  it("refuses bad overrides at start-up, naming the variable", () => {
    expect(() => build({ SHELL_EXEC_LIMIT_OVERRIDES: "{" })).toThrow(ConfigError);
    expect(() => build({ SHELL_EXEC_LIMIT_OVERRIDES: '{"key:a":{"maxInflight":3}}' })).toThrow(/SHELL_EXEC_LIMIT_OVERRIDES/);
  });
});
