import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { Redis } from "ioredis";
import { createRedisConnection } from "../shared/src/redis/connection.ts";

export function testRedisUrl(): string {
  return inject("redisUrl");
}

/** A queue prefix no other test shares, so tests run side by side on one Redis and never touch each other's keys. */
export function uniquePrefix(label = "t"): string {
  return `test-${label}-${randomBytes(6).toString("hex")}`;
}

export function testRedisConnection(purpose = "test"): Redis {
  return createRedisConnection(testRedisUrl(), { purpose });
}

/** Deletes only the keys under `prefix` (never FLUSHDB: the Redis may not be ours). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

/**
 * Everything a key holds, as bytes, read type by type (DUMP may LZF-compress values, which would hide a string a test
 * searches for).
 */
export async function readKeyContents(redis: Redis, key: string): Promise<Buffer> {
  const type = await redis.type(key);
  switch (type) {
    case "string":
      return (await redis.getBuffer(key)) ?? Buffer.alloc(0);
    case "hash":
      return Buffer.concat(Object.entries(await redis.hgetallBuffer(key)).flatMap(([k, v]) => [Buffer.from(k), v]));
    case "list":
      return Buffer.concat(await redis.lrangeBuffer(key, 0, -1));
    case "set":
      return Buffer.concat(await redis.smembersBuffer(key));
    case "zset":
      return Buffer.concat(await redis.zrangeBuffer(key, "0", "-1"));
    case "stream": {
      const entries = (await redis.xrange(key, "-", "+")) as [string, string[]][];
      return Buffer.from(JSON.stringify(entries));
    }
    default:
      return Buffer.alloc(0);
  }
}
