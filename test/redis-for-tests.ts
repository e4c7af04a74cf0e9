import { request } from "node:http";
import { startRedisServer } from "../shared/src/redis/redis-server.ts";

export interface TestRedis {
  url: string;
  /** How the URL was obtained: shown once so a failing run says which Redis it used. */
  source: "REDIS_URL" | "testcontainers" | "redis-server";
  stop(): Promise<void>;
}

/**
 * The Redis the tests use, in order of preference: REDIS_URL (the caller's own, never flushed), a testcontainers
 * Redis where a Docker engine answers, else a private redis-server on a free port in a temporary directory.
 */
export async function acquireTestRedis(env: NodeJS.ProcessEnv = process.env): Promise<TestRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: "REDIS_URL", stop: async () => {} };
  if (await dockerEngineAnswers(env)) {
    // Imported lazily: the module fails to load where it cannot run.
    const { RedisContainer } = await import("@testcontainers/redis");
    const container = await new RedisContainer("redis:7-alpine").start();
    return { url: container.getConnectionUrl(), source: "testcontainers", stop: async () => void (await container.stop()) };
  }
  const server = await startRedisServer();
  return { url: server.url, source: "redis-server", stop: () => server.stop() };
}

/** `GET /_ping` on the Docker socket with a short deadline: a docker client alone (no engine) answers nothing. */
export function dockerEngineAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  const host = env.DOCKER_HOST;
  if (host && !host.startsWith("unix://")) return Promise.resolve(false);
  const socketPath = host ? host.slice("unix://".length) : "/var/run/docker.sock";
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
