import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog, auditKeys } from "@shell-exec/shared/audit/audit-log.ts";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { JobNotFoundError } from "../errors.ts";
import { RateLimitedError } from "../limits/rate-limited-error.ts";
import { authenticate, requirePermission, type AuthEnv } from "../middleware/authenticate.ts";
import { createErrorHandler } from "../middleware/error-handler.ts";
import { CommandNotAllowedError } from "../policy/command-not-allowed-error.ts";
import { ApiKeyStore } from "./api-key-store.ts";
import { auditRefusals } from "./audit-refusals.ts";

const WALLET = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";

describe("auditRefusals middleware", () => {
  const prefix = uniquePrefix("refusals");
  let redis: Redis;
  let auditLog: AuditLog;
  let app: Hono<AuthEnv>;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    redis = testRedisConnection("refusals");
    const logger = pino({ level: "silent" });
    auditLog = new AuditLog({ redis, prefix, retentionSeconds: 3600, logger });
    const apiKeys = new ApiKeyStore({ redis, prefix });
    ({ key, id: keyId } = await apiKeys.create({ name: "reader", wallet: WALLET, permissions: ["shell-exec:read"] }));
    app = new Hono<AuthEnv>();
    app.use(requestId({ headerName: "x-request-id" }));
    app.onError(createErrorHandler(logger));
    app.use("/v1/*", auditRefusals({ auditLog, logger, clientAddress: (c) => c.req.header("x-test-client") ?? null }));
    app.use("/v1/*", authenticate([apiKeys]));
    app.post("/v1/execute", (c) => {
      requirePermission(c.get("principal"), "shell-exec:execute");
      return c.json({});
    });
    app.get("/v1/limited", () => {
      throw new RateLimitedError({ limit: "submit-rate", retryAfterMs: 1500, ratePerMinute: 60, burst: 1 });
    });
    app.get("/v1/policy", () => {
      throw new CommandNotAllowedError({ rule: "deny", scope: "global" });
    });
    app.get("/v1/missing", (c) => {
      throw new JobNotFoundError(c.req.query("id") ?? "x");
    });
    app.get("/v1/ok", (c) => c.json({ ok: true }));
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("records authentication, permission, policy and limit refusals with the code, principal and request", async () => {
    const headers = { "x-api-key": key, "x-test-client": "198.51.100.4", "x-request-id": "req-refusal-1" };
    expect((await app.request("/v1/ok", { headers: { "x-api-key": "sx_wrong" } })).status).toBe(401);
    expect((await app.request("/v1/execute", { method: "POST", headers })).status).toBe(403);
    const limited = await app.request("/v1/limited", { headers });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("2");
    expect((await app.request("/v1/policy", { headers })).status).toBe(403);
    // Not refusals: nothing recorded.
    expect((await app.request("/v1/missing", { headers })).status).toBe(404);
    expect((await app.request("/v1/ok", { headers })).status).toBe(200);

    const all = await redis.xrange(auditKeys(prefix).all, "-", "+");
    expect(all).toHaveLength(4);
    const own = await auditLog.query({ wallet: WALLET, limit: 10 });
    expect(own.entries.map((e) => e.errorCode)).toEqual(["COMMAND_NOT_ALLOWED", "RATE_LIMITED", "FORBIDDEN"]);
    expect(own.entries[0]).toMatchObject({ event: "refusal", principalId: `key:${keyId}`, requestId: "req-refusal-1", clientAddress: "198.51.100.4" });
    const first = Object.fromEntries(all[0]![1].reduce<[string, string][]>((pairs, v, i, list) => (i % 2 ? pairs : [...pairs, [v, list[i + 1]!]]), []));
    expect(first).toMatchObject({ event: "refusal", errorCode: "UNAUTHENTICATED" });
    expect(first.wallet).toBeUndefined();
    expect(JSON.stringify(all)).not.toContain(key);
  });
});
