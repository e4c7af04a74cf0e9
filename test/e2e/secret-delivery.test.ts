import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readKeyContents, testRedisConnection } from "../redis.ts";
import { runJob, startTestStack, webService, type TestStack } from "../stack.ts";

const LEASE = { dseq: "1000", gseq: 1, oseq: 1, service: "app", podIndex: 0 };

/**
 * The headline use: a container starts without secrets and waits for files under /run/secrets; shell-exec delivers
 * them. The "container" here is an akash-sim replica whose entrypoint polls for the files and records what it saw.
 */
const ENTRYPOINT = [
  "sh",
  "-c",
  [
    "while [ ! -f /run/secrets/db_password ] || [ ! -f /run/secrets/api_key ]; do sleep 0.05; done",
    'printf "%s|%s" "$(cat /run/secrets/db_password)" "$(cat /run/secrets/api_key)" > seen.txt',
    "echo proceeded > state.txt",
    "sleep 300",
  ].join("\n"),
];

describe("secret delivery, end to end", () => {
  let stack: TestStack;
  const logs: string[] = [];

  beforeAll(async () => {
    const capture = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString());
        callback();
      },
    });
    stack = await startTestStack({
      logger: pino({ level: "trace" }, capture),
      deployments: [{ owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService({ name: "app", entrypoint: ENTRYPOINT })] }] }],
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("delivers files atomically: the waiting entrypoint sees complete files and proceeds", async () => {
    if (!stack.sim.pathsIsolated) return;
    const password = "correct horse battery staple " + "x".repeat(200_000);
    const job = await runJob(stack, {
      service: "app",
      command: "test -s /run/secrets/db_password && stat -c %a /run/secrets/db_password",
      files: [
        { path: "/run/secrets/db_password", content: password, mode: "0400" },
        { path: "/run/secrets/api_key", contentBase64: Buffer.from("key-123456").toString("base64") },
      ],
    });
    expect(job).toMatchObject({ status: "succeeded", result: { stdout: "400\n" } });
    const sandbox = stack.sim.sandboxDir(LEASE);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        if ((await readFile(join(sandbox, "state.txt"), "utf8")).trim() === "proceeded") break;
      } catch {
        // not yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await readFile(join(sandbox, "seen.txt"), "utf8"))).toBe(`${password}|key-123456`);
  }, 30_000);

  it("leaves no trace of a canary secret in Redis, logs or stored output", async () => {
    const canary = `canary-${Date.now()}-s3cr3t`;
    const job = await runJob(stack, {
      service: "app",
      command: 'cat; echo; cat /tmp/canary-file; echo; echo "$CANARY"; printf %s "$CANARY" | base64',
      stdin: canary,
      files: [{ path: "/tmp/canary-file", content: canary }],
      env: { CANARY: canary },
    });
    expect(job.status).toBe("succeeded");
    expect(job.result!.stdout).not.toContain(canary);
    expect(job.result!.stdout).not.toContain(Buffer.from(canary).toString("base64"));
    expect(job.result!.stdout).toContain("[REDACTED]");
    const details = await stack.request("GET", `/v1/shell-exec/jobs/${job.id}`);
    expect(JSON.stringify(details.body)).not.toContain(canary);

    const redis = testRedisConnection("canary-scan");
    let cursor = "0";
    const needles = [canary, Buffer.from(canary).toString("base64").replace(/=+$/, "")];
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${stack.prefix}*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        const contents = await readKeyContents(redis, key);
        for (const needle of needles) expect(contents.includes(needle), `${key} holds the canary`).toBe(false);
      }
    } while (cursor !== "0");
    await redis.quit();
    const allLogs = logs.join("");
    expect(allLogs.length).toBeGreaterThan(0);
    for (const needle of needles) expect(allLogs).not.toContain(needle);
  }, 30_000);

  it("erases the sealed secrets from Redis as soon as they were delivered, while the command still runs", async () => {
    const submitted = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", {
      service: "app",
      command: "cat /tmp/erase-check > /dev/null; sleep 2",
      files: [{ path: "/tmp/erase-check", content: "sealed-then-erased" }],
    });
    const id = (submitted.body as { id: string }).id;
    const redis = testRedisConnection("erase-check");
    try {
      const key = `${stack.prefix}:job:${id}`;
      const deadline = Date.now() + 10_000;
      let sawRunningWithoutSecrets = false;
      while (Date.now() < deadline && !sawRunningWithoutSecrets) {
        const [status, secrets] = await redis.hmget(key, "status", "secrets");
        if (status === "running" && secrets === null && (await redis.hget(key, "sentAt"))) sawRunningWithoutSecrets = true;
        else await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(sawRunningWithoutSecrets).toBe(true);
      expect((await stack.request("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=20`)).status).toBe(200);
    } finally {
      await redis.quit();
    }
  }, 30_000);
});
