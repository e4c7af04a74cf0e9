import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import type { AuditEventInput } from "./audit-event.ts";
import { AuditLog, auditKeys, InvalidAuditCursorError } from "./audit-log.ts";

const WALLET_A = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";
const WALLET_B = "akash1lqxwuxdnrcmsmlyl3ke9ct8ru8a0crkvl2vcsn";
const TARGET = { dseq: "1234567", gseq: 1, oseq: 1, service: "web", podIndex: 0 };

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

async function rawStream(redis: Redis, key: string): Promise<string> {
  return JSON.stringify(await redis.xrange(key, "-", "+"));
}

const submit = (overrides: Partial<Extract<AuditEventInput, { event: "submit" }>> = {}): AuditEventInput => ({
  event: "submit",
  principalId: "key:aaaa",
  wallet: WALLET_A,
  target: TARGET,
  command: { mode: "shell", command: "echo hi" },
  jobId: "job_1",
  requestId: "req-1",
  clientAddress: "10.0.0.7",
  ...overrides,
});

describe("AuditLog", () => {
  const prefix = uniquePrefix("audit");
  const keys = auditKeys(prefix);
  let redis: Redis;
  let audit: AuditLog;
  let lines: string[];

  beforeAll(() => {
    redis = testRedisConnection("audit");
    const captured = capturingLogger();
    lines = captured.lines;
    audit = new AuditLog({ redis, prefix, retentionSeconds: 3600, logger: captured.logger });
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("records a submit in the installation's and the wallet's stream and as one JSON log line", async () => {
    const before = Date.now();
    const entry = await audit.record(submit({ batchId: "batch_9" }));
    expect(entry).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/) as string,
      time: expect.any(String) as string,
      event: "submit",
      principalId: "key:aaaa",
      wallet: WALLET_A,
      target: TARGET,
      mode: "shell",
      command: "echo hi",
      argv: null,
      commandSha256: createHash("sha256").update("echo hi").digest("hex"),
      commandSensitive: false,
      commandTruncated: false,
      outcome: null,
      exitCode: null,
      durationMs: null,
      errorCode: null,
      requestId: "req-1",
      clientAddress: "10.0.0.7",
      jobId: "job_1",
      batchId: "batch_9",
    });
    expect(Date.parse(entry.time)).toBeGreaterThanOrEqual(before - 1000);
    expect((await redis.xrange(keys.all, entry.id, entry.id))).toHaveLength(1);
    expect((await redis.xrange(keys.wallet(WALLET_A), entry.id, entry.id))).toHaveLength(1);
    const line = JSON.parse(lines.at(-1)!) as { msg: string; audit: unknown };
    expect(line).toMatchObject({ msg: "audit", audit: { ...entry } });
  });

  it("never stores or logs secret-grade inputs of a submit (canary search over the raw streams and log)", async () => {
    const canary = `CANARY-${Date.now()}`;
    // A submit body as the API receives it: the secret-grade fields sit next to the command.
    const body = {
      service: "web",
      command: "cat /run/secrets/db_password",
      stdin: `${canary}-stdin`,
      stdinBase64: Buffer.from(`${canary}-stdinb64`).toString("base64"),
      files: [{ path: "/run/secrets/db_password", content: `${canary}-file` }],
      env: { DB_PASSWORD: `${canary}-env` },
    };
    // The type has no field for them…
    // @ts-expect-error: stdin is not an audit field
    const literal: AuditEventInput = { ...submit(), stdin: body.stdin };
    // …and a careless caller who spreads the whole body anyway gets them stripped.
    const careless = { ...submit(), ...body, command: { mode: "shell" as const, ...body } } as AuditEventInput;
    await audit.record(literal);
    const entry = await audit.record(careless);
    expect(entry.command).toBe(body.command);
    const stored = (await rawStream(redis, keys.all)) + (await rawStream(redis, keys.wallet(WALLET_A)));
    const logged = lines.join("");
    for (const surface of [stored, logged, JSON.stringify(entry)]) {
      expect(surface).not.toContain(canary);
      expect(surface).not.toContain(body.stdinBase64);
    }
  });

  it("keeps only the digest of a command marked sensitive", async () => {
    const secretCommand = "mysql -p'S3cr3t-Canary' -e 'select 1'";
    const entry = await audit.record(submit({ jobId: "job_sens", command: { mode: "shell", command: secretCommand, sensitive: true } }));
    expect(entry).toMatchObject({ command: null, argv: null, commandSensitive: true, commandSha256: createHash("sha256").update(secretCommand).digest("hex") });
    const argvEntry = await audit.record(submit({ jobId: "job_sens2", command: { mode: "exec", argv: ["vault", "S3cr3t-Canary"], sensitive: true } }));
    expect(argvEntry.commandSha256).toBe(createHash("sha256").update(JSON.stringify(["vault", "S3cr3t-Canary"])).digest("hex"));
    expect((await rawStream(redis, keys.all)) + lines.join("")).not.toContain("S3cr3t-Canary");
  });

  it("records exec argv, cancels, refusals with their code (without a wallet for 401s) and outcomes", async () => {
    const exec = await audit.record(submit({ jobId: "job_exec", command: { mode: "exec", argv: ["ls", "-la", "/"] } }));
    expect(exec).toMatchObject({ mode: "exec", argv: ["ls", "-la", "/"], command: null });
    const cancel = await audit.record({ event: "cancel", principalId: "key:aaaa", wallet: WALLET_A, jobId: "job_exec", outcome: "canceled" });
    expect(cancel).toMatchObject({ event: "cancel", jobId: "job_exec", outcome: "canceled", target: null, requestId: null });
    const anonymous = await audit.record({ event: "refusal", errorCode: "UNAUTHENTICATED", clientAddress: "203.0.113.9", requestId: "req-x" });
    expect(anonymous).toMatchObject({ event: "refusal", principalId: null, wallet: null, errorCode: "UNAUTHENTICATED" });
    expect(await redis.xrange(keys.all, anonymous.id, anonymous.id)).toHaveLength(1);
    expect(await redis.exists(keys.wallet(""))).toBe(0);
    const policy = await audit.record({ event: "refusal", principalId: "key:aaaa", wallet: WALLET_A, errorCode: "COMMAND_NOT_ALLOWED", target: TARGET, command: { mode: "shell", command: "reboot" } });
    expect(policy).toMatchObject({ errorCode: "COMMAND_NOT_ALLOWED", command: "reboot", target: TARGET });
    const outcome = await audit.record({ event: "outcome", principalId: "key:aaaa", wallet: WALLET_A, jobId: "job_1", target: TARGET, outcome: "failed", exitCode: 3, durationMs: 41 });
    expect(outcome).toMatchObject({ outcome: "failed", exitCode: 3, durationMs: 41, errorCode: null });
  });

  it("cuts very long commands, keeping the digest of the whole", async () => {
    const long = "x".repeat(10_000);
    const entry = await audit.record(submit({ jobId: "job_long", command: { mode: "shell", command: long } }));
    expect(entry.command).toHaveLength(4096);
    expect(entry.commandTruncated).toBe(true);
    expect(entry.commandSha256).toBe(createHash("sha256").update(long).digest("hex"));
  });

  it("writes the log line even when Redis fails, and rethrows", async () => {
    const broken = testRedisConnection("audit-broken");
    await broken.quit();
    const captured = capturingLogger();
    const failing = new AuditLog({ redis: broken, prefix, retentionSeconds: 60, logger: captured.logger });
    await expect(failing.record(submit({ jobId: "job_lost" }))).rejects.toThrow();
    expect(JSON.parse(captured.lines[0]!)).toMatchObject({ msg: "audit", stored: false, audit: { jobId: "job_lost", event: "submit" } });
  });
});

describe("AuditLog.query", () => {
  const prefix = uniquePrefix("audit-q");
  let redis: Redis;
  let audit: AuditLog;
  const ids: string[] = [];

  beforeAll(async () => {
    redis = testRedisConnection("audit-q");
    audit = new AuditLog({ redis, prefix, retentionSeconds: 3600, logger: pino({ level: "silent" }) });
    for (let i = 0; i < 30; i++) {
      const entry = await audit.record(
        i % 3 === 0
          ? { event: "outcome", principalId: "key:a", wallet: WALLET_A, jobId: `job_${i}`, outcome: "succeeded", exitCode: 0, durationMs: i }
          : submit({ jobId: `job_${i}`, principalId: "key:a" }),
      );
      ids.push(entry.id);
      await audit.record(submit({ jobId: `other_${i}`, principalId: "key:b", wallet: WALLET_B }));
    }
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("returns only the wallet's own entries, newest first, page by page without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await audit.query({ wallet: WALLET_A, limit: 7, cursor });
      seen.push(...page.entries.map((e) => e.id));
      expect(page.entries.every((e) => e.wallet === WALLET_A)).toBe(true);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it("filters by event kind and job id, and by time range", async () => {
    const outcomes = await audit.query({ wallet: WALLET_A, event: "outcome", limit: 100 });
    expect(outcomes.entries.map((e) => e.jobId)).toEqual([27, 24, 21, 18, 15, 12, 9, 6, 3, 0].map((i) => `job_${i}`));
    expect(outcomes.nextCursor).toBeNull();
    const one = await audit.query({ wallet: WALLET_A, jobId: "job_5", limit: 10 });
    expect(one.entries.map((e) => e.id)).toEqual([ids[5]]);
    const firstMs = Number(ids[0]!.split("-")[0]);
    const lastMs = Number(ids[29]!.split("-")[0]);
    const all = await audit.query({ wallet: WALLET_A, since: new Date(firstMs), until: new Date(lastMs), limit: 100 });
    expect(all.entries).toHaveLength(30);
    const none = await audit.query({ wallet: WALLET_A, since: new Date(lastMs + 1), limit: 100 });
    expect(none.entries).toHaveLength(0);
  });

  it("bounds the scan of a sparse filter, handing back a cursor to go on", async () => {
    const bounded = new AuditLog({ redis, prefix, retentionSeconds: 3600, logger: pino({ level: "silent" }), maxScan: 10 });
    const first = await bounded.query({ wallet: WALLET_A, jobId: "job_0", limit: 5 });
    expect(first.entries).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    let cursor = first.nextCursor;
    const found: string[] = [];
    while (cursor) {
      const page = await bounded.query({ wallet: WALLET_A, jobId: "job_0", limit: 5, cursor });
      found.push(...page.entries.map((e) => e.jobId!));
      cursor = page.nextCursor;
    }
    expect(found).toEqual(["job_0"]);
  });

  it("refuses a cursor it did not issue", async () => {
    await expect(audit.query({ wallet: WALLET_A, limit: 5, cursor: "bm9wZQ" })).rejects.toBeInstanceOf(InvalidAuditCursorError);
    const injected = Buffer.from(JSON.stringify({ v: 1, id: "+" })).toString("base64url");
    await expect(audit.query({ wallet: WALLET_A, limit: 5, cursor: injected })).rejects.toBeInstanceOf(InvalidAuditCursorError);
  });
});

describe("AuditLog retention", () => {
  const prefix = uniquePrefix("audit-r");
  let redis: Redis;

  beforeAll(() => {
    redis = testRedisConnection("audit-r");
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("trims entries older than the retention from both streams, and lets an idle wallet stream expire", async () => {
    const audit = new AuditLog({ redis, prefix, retentionSeconds: 1, logger: pino({ level: "silent" }) });
    const keys = auditKeys(prefix);
    const pipeline: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) pipeline.push(audit.record(submit({ jobId: `old_${i}` })));
    await Promise.all(pipeline);
    expect(await redis.xlen(keys.all)).toBe(300);
    const ttl = await redis.pttl(keys.wallet(WALLET_A));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await audit.record({ event: "refusal", errorCode: "UNAUTHENTICATED" });
    // Approximate trimming removes whole stream nodes (100 entries each by default): all of the old ones here.
    expect(await redis.xlen(keys.all)).toBeLessThan(101);
    expect(await redis.exists(keys.wallet(WALLET_A))).toBe(0);
  });
});
