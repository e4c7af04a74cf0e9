import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, testRedisUrl, uniquePrefix } from "../../../test/redis.ts";
import { ApiKeyStore } from "../auth/api-key-store.ts";
import { runApiKeysCli } from "./api-keys-command.ts";

const CLI = fileURLToPath(new URL("./api-keys.ts", import.meta.url));
const WALLET = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as its own Node process, as an operator would. */
function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 10_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(new Error(`could not run the CLI: ${error.message}`, { cause: error }));
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

describe("api-keys CLI (child process against the harness Redis)", () => {
  const prefix = uniquePrefix("cli");
  let env: Record<string, string>;
  let redis: Redis;

  beforeAll(() => {
    env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix };
    redis = testRedisConnection("cli-check");
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("creates a key, prints it once, lists it without the key, and revokes it so it stops working", async () => {
    const created = await runCli(["create", "--name", "deploy-bot", "--wallet", WALLET, "--permissions", "shell-exec:execute,audit:read", "--expires-in", "30d"], env);
    expect(created.code).toBe(0);
    const key = /key:\s+(sx_\S+)/.exec(created.stdout)?.[1];
    const id = /id:\s+([0-9a-f]{20})/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(created.stderr).toContain("cannot be shown again");

    const store = new ApiKeyStore({ redis, prefix });
    const principal = await store.authenticate({ apiKey: key });
    expect(principal).toMatchObject({ id: `key:${id}`, wallet: WALLET, source: "api-key" });
    expect([...principal!.permissions].sort()).toEqual(["audit:read", "shell-exec:execute"]);

    const listed = await runCli(["list"], env);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+WALLET\s+PERMISSIONS\s+STATUS\s+CREATED\s+EXPIRES$/);
    expect(lines[1]).toContain(id);
    expect(lines[1]).toContain("deploy-bot");
    expect(lines[1]).toContain("active");
    expect(listed.stdout).not.toContain(key);

    const revoked = await runCli(["revoke", id!], env);
    expect(revoked).toMatchObject({ code: 0, stdout: `Revoked ${id}.\n` });
    expect(await store.authenticate({ apiKey: key })).toBeNull();
    const json = JSON.parse((await runCli(["list", "--json", "--wallet", WALLET], env)).stdout) as { id: string; status: string }[];
    expect(json).toEqual([expect.objectContaining({ id, status: "revoked" })]);
  });

  it("exits 2 with a message naming the variable when REDIS_URL is missing", async () => {
    const noRedis = await runCli(["list"], { QUEUE_PREFIX: prefix });
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain("REDIS_URL");
  });

  it("answers wrong usage with exit code 2 and a message naming the problem (in process)", async () => {
    const run = async (args: string[]) => {
      let stdout = "";
      let stderr = "";
      const code = await runApiKeysCli(args, env, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
      return { code, stdout, stderr };
    };
    const missingWallet = await run(["create", "--name", "x"]);
    expect(missingWallet.code).toBe(2);
    expect(missingWallet.stderr).toContain("--wallet is required");
    expect((await run(["create", "--name", "x", "--wallet", WALLET, "--permissions", "root"])).code).toBe(2);
    expect((await run(["create", "--name", "x", "--wallet", "cosmos1xyz"])).code).toBe(2);
    expect((await run(["create", "--name", "x", "--wallet", WALLET, "--expires-in", "soon"])).stderr).toContain("--expires-in");
    expect((await run(["list", "--colour"])).code).toBe(2);
    expect((await run(["rotate"])).code).toBe(2);
    expect(await run(["revoke", "ffffffffffffffffffff"])).toMatchObject({ code: 1, stderr: "No API key ffffffffffffffffffff.\n" });
    expect((await run(["help"])).stdout).toContain("Usage:");
  });
});
