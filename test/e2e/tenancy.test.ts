import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyStore } from "../../api/src/auth/api-key-store.ts";
import { PERMISSIONS } from "../../api/src/auth/principal.ts";
import { AkashWallet } from "../../shared/src/akash/wallet.ts";
import { testRedisConnection } from "../redis.ts";
import { startTestStack, TEST_API_KEY, webService, type JobBody, type TestStack } from "../stack.ts";
import { createHash } from "node:crypto";

function staticKeyPrincipalId(): string {
  return `key:${createHash("sha256").update(TEST_API_KEY).digest().subarray(0, 8).toString("hex")}`;
}

const ISSUER = "https://auth.example.test";
const AUDIENCE = "shell-exec";

/**
 * Tenancy across both credential kinds: principal A (API key from the Redis store, or a bearer JWT) never sees or
 * touches B's jobs, batches or deployments; every attempt answers exactly as a missing resource does.
 */
describe("identity and tenancy, end to end", () => {
  let stack: TestStack;
  let keysDir: string;
  let signingKey: CryptoKey;
  const walletB = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());
  const creds: Record<string, Record<string, string>> = {};
  let keyStore: ApiKeyStore;
  let redis: ReturnType<typeof testRedisConnection>;

  const jwtFor = async (wallet: string, claims: Record<string, unknown> = {}, options: { audience?: string; expiresIn?: string | number } = {}) =>
    new SignJWT({ akash_wallet: wallet, permissions: [...PERMISSIONS], ...claims })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer(ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setSubject(`user-${wallet.slice(-6)}`)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? "5m")
      .sign(signingKey);

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    signingKey = pair.privateKey;
    const bMnemonic = AkashWallet.generateMnemonic();
    Object.assign(walletB, AkashWallet.fromMnemonic(bMnemonic));
    keysDir = await mkdtemp(join(tmpdir(), "tenancy-keys-"));
    await writeFile(join(keysDir, "b.mnemonic"), bMnemonic, { mode: 0o600 });
    const bAddress = AkashWallet.fromMnemonic(bMnemonic).address;
    const jwtEnv = {
      SHELL_EXEC_JWT_PUBLIC_KEY: await exportSPKI(pair.publicKey),
      SHELL_EXEC_JWT_ISSUER: ISSUER,
      SHELL_EXEC_JWT_AUDIENCE: AUDIENCE,
      SHELL_EXEC_JWT_CLOCK_TOLERANCE_SECONDS: "0",
      SHELL_EXEC_WALLET_KEYS_DIR: keysDir,
      SHELL_EXEC_COMMAND_POLICY: JSON.stringify({ global: { deny: ["rm\\s+-rf\\s+/"] } }),
      // The stack's static key gets a tight submit rate; the Redis keys of this file keep the default.
      SHELL_EXEC_LIMIT_OVERRIDES: JSON.stringify({ [staticKeyPrincipalId()]: { ratePerMinute: 6, burst: 2 } }),
    };
    stack = await startTestStack({
      wallets: [{ name: "b", mnemonic: bMnemonic }],
      deployments: [
        { owner: "tenant", dseq: "1000", leases: [{ provider: "provider", services: [webService()] }] },
        { owner: "b", dseq: "2000", leases: [{ provider: "provider", services: [webService()] }] },
      ],
      apiEnv: jwtEnv,
      workerEnv: { SHELL_EXEC_WALLET_KEYS_DIR: keysDir },
    });
    redis = testRedisConnection("tenancy");
    keyStore = new ApiKeyStore({ redis, prefix: stack.prefix });
    const a = await keyStore.create({ name: "a", wallet: stack.wallet.address, permissions: [...PERMISSIONS] });
    const b = await keyStore.create({ name: "b", wallet: bAddress, permissions: [...PERMISSIONS] });
    creds.aKey = { "x-api-key": a.key };
    creds.bKey = { "x-api-key": b.key };
    creds.aJwt = { authorization: `Bearer ${await jwtFor(stack.wallet.address)}` };
    creds.bJwt = { authorization: `Bearer ${await jwtFor(bAddress)}` };
  }, 60_000);
  afterAll(async () => {
    await redis?.quit();
    await stack?.stop();
    await rm(keysDir, { recursive: true, force: true });
  });

  const as = (who: string) => (method: string, path: string, body?: unknown) => stack.request(method, path, body, { "x-api-key": "", ...creds[who] });

  it("each tenant runs on its own deployments through either credential kind", async () => {
    for (const [who, dseq] of [["aKey", "1000"], ["aJwt", "1000"], ["bKey", "2000"], ["bJwt", "2000"]] as const) {
      const response = await as(who)("POST", `/v1/deployments/${dseq}/leases/1/1/shell-exec?wait=20`, { service: "web", command: "echo ok" });
      expect(response.status, who).toBe(200);
      expect((response.body as JobBody).status).toBe("succeeded");
    }
  });

  it("A can neither read, wait on, cancel, list nor run on B's things: every answer is the missing-resource answer", async () => {
    const bJob = (await as("bKey")("POST", "/v1/deployments/2000/leases/1/1/shell-exec", { service: "web", command: "sleep 5", timeout: 30 })).body as JobBody;
    const bBatch = (await as("bJwt")("POST", "/v1/shell-exec/batches", { defaults: { service: "web", command: "true" }, targets: [{ dseq: "2000", gseq: 1, oseq: 1 }] })).body as { id: string };
    for (const who of ["aKey", "aJwt"]) {
      const call = as(who);
      const missing = await call("GET", "/v1/shell-exec/jobs/job_doesnotexist");
      const cases = [
        await call("GET", `/v1/shell-exec/jobs/${bJob.id}`),
        await call("GET", `/v1/shell-exec/jobs/${bJob.id}/wait?timeout=1`),
        await call("DELETE", `/v1/shell-exec/jobs/${bJob.id}`),
      ];
      for (const response of cases) {
        expect(response.status, who).toBe(404);
        const error = (response.body as { error: { code: string; message: string } }).error;
        expect(error.code).toBe((missing.body as { error: { code: string } }).error.code);
        expect(error.message).toBe(`No job ${bJob.id} (it may have expired).`);
      }
      const batch = await call("GET", `/v1/shell-exec/batches/${bBatch.id}`);
      expect(batch.status).toBe(404);
      expect((batch.body as { error: { code: string } }).error.code).toBe("BATCH_NOT_FOUND");
      const list = (await call("GET", "/v1/shell-exec/jobs?limit=200")).body as { jobs: { id: string; target: { dseq: string } }[] };
      expect(list.jobs.map((j) => j.id)).not.toContain(bJob.id);
      expect(list.jobs.every((j) => j.target.dseq === "1000")).toBe(true);
      const run = await call("POST", "/v1/deployments/2000/leases/1/1/shell-exec", { service: "web", command: "true" });
      expect(run.status).toBe(404);
      expect((run.body as { error: { code: string } }).error.code).toBe("DEPLOYMENT_NOT_FOUND");
    }
    expect((await as("bKey")("GET", `/v1/shell-exec/jobs/${bJob.id}`)).status).toBe(200);
    // B's own cancel works, and leaves nothing running behind this test.
    expect((await as("bKey")("DELETE", `/v1/shell-exec/jobs/${bJob.id}`)).status).toBe(202);
    expect((await as("bKey")("GET", `/v1/shell-exec/jobs/${bJob.id}/wait?timeout=20`)).status).toBe(200);
    expect((await as("bKey")("GET", `/v1/shell-exec/batches/${bBatch.id}/wait?timeout=20`)).status).toBe(200);
  });

  it("answers 401 for revoked and expired keys and for tampered, expired or wrong-audience JWTs; 403 without the permission", async () => {
    const revoked = await keyStore.create({ name: "r", wallet: stack.wallet.address, permissions: [...PERMISSIONS] });
    expect((await stack.request("GET", "/v1/shell-exec/jobs", undefined, { "x-api-key": revoked.key })).status).toBe(200);
    await keyStore.revoke(revoked.id);
    expect((await stack.request("GET", "/v1/shell-exec/jobs", undefined, { "x-api-key": revoked.key })).status).toBe(401);
    const expiring = await keyStore.create({ name: "e", wallet: stack.wallet.address, permissions: [...PERMISSIONS], expiresAt: new Date(Date.now() + 1_000) });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect((await stack.request("GET", "/v1/shell-exec/jobs", undefined, { "x-api-key": expiring.key })).status).toBe(401);

    const good = await jwtFor(stack.wallet.address);
    const [h, p, s] = good.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, akash_wallet: walletB.address })).toString("base64url")}.${s}`;
    const expired = await jwtFor(stack.wallet.address, {}, { expiresIn: Math.floor(Date.now() / 1000) - 10 });
    const wrongAudience = await jwtFor(stack.wallet.address, {}, { audience: "someone-else" });
    for (const token of [tampered, expired, wrongAudience]) {
      const response = await stack.request("GET", "/v1/shell-exec/jobs", undefined, { "x-api-key": "", authorization: `Bearer ${token}` });
      expect(response.status).toBe(401);
      expect((response.body as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
    }

    const readOnly = await keyStore.create({ name: "ro", wallet: stack.wallet.address, permissions: ["shell-exec:read"] });
    const forbidden = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "true" }, { "x-api-key": readOnly.key });
    expect(forbidden.status).toBe(403);
    expect((forbidden.body as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    expect((await stack.request("GET", "/v1/audit", undefined, { "x-api-key": readOnly.key })).status).toBe(403);
    const noScope = await jwtFor(stack.wallet.address, { permissions: ["shell-exec:read"] });
    expect((await stack.request("DELETE", "/v1/shell-exec/jobs/job_x", undefined, { "x-api-key": "", authorization: `Bearer ${noScope}` })).status).toBe(403);
  });

  it("audits submits, cancels, refusals and outcomes of the caller's wallet, with no secret-grade value", async () => {
    const canary = `canary-${Date.now()}-audit`;
    const call = as("aKey");
    const done = (await call("POST", "/v1/deployments/1000/leases/1/1/shell-exec?wait=20", { service: "web", command: "cat", stdin: canary, env: { SECRET: canary } })).body as JobBody;
    const running = (await call("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "sleep 20", timeout: 60 })).body as JobBody;
    await call("DELETE", `/v1/shell-exec/jobs/${running.id}`);
    await stack.request("GET", "/v1/shell-exec/jobs", undefined, { "x-api-key": "sx_nope_nope" });
    await stack.request("GET", `/v1/shell-exec/jobs/${running.id}/wait?timeout=20`);
    const page = (await call("GET", "/v1/audit?limit=200")).body as { entries: { event: string; jobId: string | null; wallet: string | null }[] };
    const events = new Set(page.entries.map((e) => e.event));
    for (const kind of ["submit", "cancel", "outcome"]) expect(events, kind).toContain(kind);
    expect(page.entries.some((e) => e.event === "submit" && e.jobId === done.id)).toBe(true);
    expect(page.entries.every((e) => e.wallet === stack.wallet.address || e.wallet === null)).toBe(true);
    expect(JSON.stringify(page)).not.toContain(canary);
    const raw = JSON.stringify(await redis.xrange(`${stack.prefix}:audit`, "-", "+"));
    expect(raw).toContain("refusal");
    expect(raw).not.toContain(canary);
    const foreign = (await as("bKey")("GET", "/v1/audit?limit=200")).body as { entries: { jobId: string | null }[] };
    expect(foreign.entries.map((e) => e.jobId)).not.toContain(done.id);
  }, 60_000);

  it("refuses a command the policy denies with 403 before queueing, and a burst over the rate with 429 and Retry-After", async () => {
    const denied = await as("aKey")("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "rm -rf / --no-preserve-root" });
    expect(denied.status).toBe(403);
    expect((denied.body as { error: { code: string; message: string } }).error.code).toBe("COMMAND_NOT_ALLOWED");
    expect(JSON.stringify(denied.body)).not.toContain("rm\\s");
    const statuses: number[] = [];
    const accepted: string[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const response = await stack.request("POST", "/v1/deployments/1000/leases/1/1/shell-exec", { service: "web", command: "true" });
      statuses.push(response.status);
      if (response.status === 202) accepted.push((response.body as JobBody).id);
      if (response.status === 429) {
        retryAfter = response.headers.get("retry-after");
        expect((response.body as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
      }
    }
    expect(statuses.slice(0, 2)).toEqual([202, 202]);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    for (const id of accepted) await stack.request("GET", `/v1/shell-exec/jobs/${id}/wait?timeout=20`);
  });
});
