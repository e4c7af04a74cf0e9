import type { TestProject } from "vitest/node";
import { acquireTestRedis } from "./redis-for-tests.ts";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await acquireTestRedis();
  process.stderr.write(`[tests] Redis from ${redis.source}: ${redis.url}\n`);
  project.provide("redisUrl", redis.url);
  return () => redis.stop();
}
