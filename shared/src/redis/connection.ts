import { Redis, type RedisOptions } from "ioredis";

/**
 * A connection for BullMQ (which needs `maxRetriesPerRequest: null` on blocking connections) or for plain commands.
 * `connectionName` shows up in `CLIENT LIST`, which is how tests and benchmarks count connections per role.
 */
export function createRedisConnection(url: string, options: Omit<RedisOptions, "role"> & { purpose: string }): Redis {
  const { purpose, ...rest } = options;
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: `shell-exec:${purpose}`,
    ...rest,
  });
}
