import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { assertNoLeaks, countGuardedResources, LeakError } from "./leak-guard.ts";
import { testRedisUrl } from "./redis.ts";

describe("leak guard", () => {
  it("throws for a Redis connection left open and passes once it is closed", async () => {
    const before = countGuardedResources();
    const redis = new Redis(testRedisUrl());
    await redis.ping();
    await expect(assertNoLeaks("probe", before, 100)).rejects.toBeInstanceOf(LeakError);
    await redis.quit();
    await expect(assertNoLeaks("probe", before, 1_000)).resolves.toBeUndefined();
  });

  it("fails a real test that leaks a Queue, and only that test", async () => {
    const vitestBin = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
    const config = join(import.meta.dirname, "fixtures/leak/vitest.config.ts");
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [vitestBin, "run", "--config", config, "--reporter=verbose"], {
        env: { ...process.env, REDIS_URL: testRedisUrl(), NO_COLOR: "1", FORCE_COLOR: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.on("close", (exitCode) => resolve({ code: exitCode, output: text }));
    });
    expect(code, output).toBe(1);
    expect(output).toMatch(/Test "opens a Queue and never closes it" leaked \d+ × TCPSocketWrap/);
    expect(output).toMatch(/✓ .*closes what it opens/);
  }, 60_000);
});
