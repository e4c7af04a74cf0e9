import { OpenAPIHono } from "@hono/zod-openapi";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { authenticate, type AuthEnv } from "../middleware/authenticate.ts";
import { createErrorHandler, validationErrorFromZod } from "../middleware/error-handler.ts";
import { ApiKeyStore } from "./api-key-store.ts";
import { readAudit } from "./audit-query.ts";
import { listAuditRoute } from "./audit.routes.ts";

const WALLET_A = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";
const WALLET_B = "akash1lqxwuxdnrcmsmlyl3ke9ct8ru8a0crkvl2vcsn";

interface Page {
  entries: { wallet: string; jobId: string | null; event: string }[];
  nextCursor: string | null;
}

/** The route wired as app.ts wires routes: validation hook, error envelope, authentication. */
describe("GET /v1/audit", () => {
  const prefix = uniquePrefix("audit-route");
  let redis: Redis;
  let app: OpenAPIHono<AuthEnv>;
  let readerKey: string;
  let executorKey: string;

  beforeAll(async () => {
    redis = testRedisConnection("audit-route");
    const logger = pino({ level: "silent" });
    const auditLog = new AuditLog({ redis, prefix, retentionSeconds: 3600, logger });
    const apiKeys = new ApiKeyStore({ redis, prefix });
    readerKey = (await apiKeys.create({ name: "auditor", wallet: WALLET_A, permissions: ["audit:read"] })).key;
    executorKey = (await apiKeys.create({ name: "ci", wallet: WALLET_A, permissions: ["shell-exec:execute"] })).key;
    const target = { dseq: "1", gseq: 1, oseq: 1, service: "web", podIndex: 0 };
    await auditLog.record({ event: "submit", principalId: "key:x", wallet: WALLET_A, target, command: { mode: "shell", command: "id" }, jobId: "job_a" });
    await auditLog.record({ event: "submit", principalId: "key:y", wallet: WALLET_B, target, command: { mode: "shell", command: "id" }, jobId: "job_b" });
    await auditLog.record({ event: "outcome", principalId: "key:x", wallet: WALLET_A, jobId: "job_a", outcome: "succeeded", exitCode: 0, durationMs: 5 });

    app = new OpenAPIHono<AuthEnv>({
      defaultHook: (result) => {
        if (!result.success) throw validationErrorFromZod(result.error, result.target);
        return undefined;
      },
    });
    app.onError(createErrorHandler(logger));
    app.use("/v1/*", authenticate([apiKeys]));
    app.openapi(listAuditRoute, async (c) => c.json(await readAudit(auditLog, c.get("principal"), c.req.valid("query")), 200));
    app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: "t", version: "0" } });
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  const get = (query: string, key?: string) => app.request(`/v1/audit${query}`, { headers: key ? { "x-api-key": key } : {} });

  it("answers the caller's own wallet's entries, newest first", async () => {
    const response = await get("", readerKey);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Page;
    expect(page.entries.map((e) => [e.event, e.jobId])).toEqual([
      ["outcome", "job_a"],
      ["submit", "job_a"],
    ]);
    expect(page.entries.every((e) => e.wallet === WALLET_A)).toBe(true);
    expect(page.nextCursor).toBeNull();
    const filtered = (await (await get("?event=submit&limit=1", readerKey)).json()) as Page;
    expect(filtered.entries.map((e) => e.event)).toEqual(["submit"]);
  });

  it("answers 401 without credentials and 403 without audit:read", async () => {
    expect((await get("")).status).toBe(401);
    const forbidden = await get("", executorKey);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
  });

  it("answers 400 for bad query values and a foreign cursor", async () => {
    for (const query of ["?limit=0", "?event=login", "?since=yesterday", "?cursor=bm9wZQ", "?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z"]) {
      const response = await get(query, readerKey);
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_ERROR");
    }
  });

  it("is described in the OpenAPI document", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.paths["/v1/audit"]?.get?.operationId).toBe("listAuditEntries");
    expect(doc.paths["/v1/audit"]?.get?.security).toEqual([{ ApiKey: [] }, { Bearer: [] }]);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["AuditEntry", "AuditPage"]));
  });
});
