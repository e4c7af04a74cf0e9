import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { findFreePort } from "@shell-exec/shared/redis/redis-server.ts";
import { deleteKeysWithPrefix, testRedisConnection, testRedisUrl, uniquePrefix } from "../../test/redis.ts";
import { apiEnvSchema } from "./config.ts";
import { startApi, type RunningApi } from "./start-api.ts";

const API_KEY = "test-key-0123456789abcdef";
const LEASE_PATH = "/v1/deployments/1234/leases/1/1/shell-exec";

/**
 * The HTTP surface that needs no chain: envelope, auth, content rules and validation. The chain URL points at a
 * closed port, which these requests never reach (validation and auth come first).
 */
describe("API surface", () => {
  const prefix = uniquePrefix("api");
  let api: RunningApi;

  beforeAll(async () => {
    const config = apiEnvSchema.parse({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      PORT: "0",
      HOST: "127.0.0.1",
      AKASH_REST_URL: `http://127.0.0.1:${await findFreePort()}`,
      AKASH_WALLET_MNEMONIC: AkashWallet.generateMnemonic(),
      SHELL_EXEC_API_KEYS: API_KEY,
      MAX_BODY_BYTES: "65536",
    });
    api = await startApi({ ...config, REDIS_URL: testRedisUrl() }, pino({ level: "silent" }));
  });
  afterAll(async () => {
    await api.close();
    const redis = testRedisConnection("cleanup");
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${api.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("answers health and readiness, with a request id on every response", async () => {
    const health = await fetch(`${api.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get("x-request-id")).toMatch(/[0-9a-f-]{36}/);
    expect(await (await fetch(`${api.url}/readyz`)).json()).toEqual({ status: "ready" });
    const echoed = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "ci-run-42" } });
    expect(echoed.headers.get("x-request-id")).toBe("ci-run-42");
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas, and a docs page", async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/v1/deployments/{dseq}/leases/{gseq}/{oseq}/shell-exec"]?.post?.operationId).toBe("submitShellExec");
    expect(doc.paths["/v1/shell-exec/jobs/{id}/wait"]?.get?.operationId).toBe("waitShellExecJob");
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["SubmitRequest", "Job", "Error"]));
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["ApiKey", "Bearer"]);
    const docs = await fetch(`${api.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
  });

  it("answers 401 without or with wrong credentials, in the error envelope", async () => {
    const none = await fetch(`${api.url}/v1/shell-exec/jobs`);
    expect(none.status).toBe(401);
    const body = (await none.json()) as { error: { code: string }; requestId: string };
    expect(body.error.code).toBe("UNAUTHENTICATED");
    expect(body.requestId).toBe(none.headers.get("x-request-id"));
    const wrong = await fetch(`${api.url}/v1/shell-exec/jobs`, { headers: { "x-api-key": "nope-nope-nope-nope" } });
    expect(wrong.status).toBe(401);
  });

  it("answers 415 for a non-JSON body and 413 for a body over the limit", async () => {
    const form = await post(LEASE_PATH, "service=web", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(415);
    expect(((await form.json()) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const big = await post(LEASE_PATH, { service: "web", command: "x".repeat(70_000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it.each([
    ["a missing service", { command: "true" }, "service"],
    ["both command and argv", { service: "web", command: "true", argv: ["true"] }, "command"],
    ["neither command nor argv", { service: "web" }, "command"],
    ["an empty argv element", { service: "web", argv: ["echo", ""] }, "argv.1"],
    ["a timeout over 3600", { service: "web", command: "true", timeout: 3601 }, "timeout"],
    ["a timeout of 0", { service: "web", command: "true", timeout: 0 }, "timeout"],
    ["a fractional podIndex", { service: "web", command: "true", podIndex: 0.5 }, "podIndex"],
    ["maxOutputBytes over 16 MiB", { service: "web", command: "true", maxOutputBytes: 16 * 1024 * 1024 + 1 }, "maxOutputBytes"],
    ["an unknown field", { service: "web", command: "true", comand: "typo" }, ""],
    ["a NUL in the command", { service: "web", command: "a\u0000b" }, "command"],
    ["a relative file path", { service: "web", command: "true", files: [{ path: "etc/x", content: "a" }] }, "files.0.path"],
    ["bad base64 stdin", { service: "web", command: "true", stdinBase64: "***" }, "stdinBase64"],
    ["a bad env name", { service: "web", command: "true", env: { "1BAD": "x" } }, "env.1BAD"],
  ])("answers 400 naming the field for %s", async (_label, body, field) => {
    const response = await post(LEASE_PATH, body);
    expect(response.status).toBe(400);
    const payload = (await response.json()) as { error: { code: string; details: { field: string }[] } };
    expect(payload.error.code).toBe("VALIDATION_ERROR");
    if (field) expect(payload.error.details.map((d) => d.field)).toContain(field);
  });

  it("answers 400 for bad path and query values, naming them", async () => {
    const badDseq = await post("/v1/deployments/abc/leases/1/1/shell-exec", { service: "web", command: "true" });
    expect(badDseq.status).toBe(400);
    expect(((await badDseq.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field).toBe("dseq");
    const badWait = await post(`${LEASE_PATH}?wait=61`, { service: "web", command: "true" });
    expect(badWait.status).toBe(400);
    const badLimit = await fetch(`${api.url}/v1/shell-exec/jobs?limit=0`, { headers: { "x-api-key": API_KEY } });
    expect(badLimit.status).toBe(400);
    const badJson = await post(LEASE_PATH, "{not json");
    expect(badJson.status).toBe(400);
  });

  it("answers 404 in the envelope for unknown routes and unknown jobs", async () => {
    const route = await fetch(`${api.url}/v2/nothing`);
    expect(route.status).toBe(404);
    expect(((await route.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    const job = await fetch(`${api.url}/v1/shell-exec/jobs/job_doesnotexist`, { headers: { "x-api-key": API_KEY } });
    expect(job.status).toBe(404);
    expect(((await job.json()) as { error: { code: string } }).error.code).toBe("JOB_NOT_FOUND");
  });

  it("answers 503 CHAIN_UNAVAILABLE when the chain cannot be reached (nothing is queued)", async () => {
    const response = await post(LEASE_PATH, { service: "web", command: "true" });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBeTruthy();
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("CHAIN_UNAVAILABLE");
  });
});
