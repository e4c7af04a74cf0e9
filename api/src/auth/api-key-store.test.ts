import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, testRedisConnection, uniquePrefix } from "../../../test/redis.ts";
import { API_KEY_PATTERN, ApiKeyStore } from "./api-key-store.ts";

const WALLET_A = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";
const WALLET_B = "akash1lqxwuxdnrcmsmlyl3ke9ct8ru8a0crkvl2vcsn";

async function allValuesUnder(redis: Redis, prefix: string): Promise<string> {
  const keys = await redis.keys(`${prefix}*`);
  const parts: string[] = [...keys];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
    if (type === "zset") parts.push(JSON.stringify(await redis.zrange(key, "0", "-1")));
  }
  return parts.join("\n");
}

describe("ApiKeyStore", () => {
  const prefix = uniquePrefix("apikeys");
  let redis: Redis;
  let store: ApiKeyStore;

  beforeAll(() => {
    redis = testRedisConnection("apikeys");
    store = new ApiKeyStore({ redis, prefix });
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("issues a key that authenticates as key:<id> with its wallet and permissions, storing only its digest", async () => {
    const { id, key } = await store.create({ name: "ci", wallet: WALLET_A, permissions: ["shell-exec:execute", "shell-exec:read"] });
    expect(key).toMatch(API_KEY_PATTERN);
    expect(key.startsWith(`sx_${id}_`)).toBe(true);
    const principal = await store.authenticate({ apiKey: key });
    expect(principal).toEqual({
      id: `key:${id}`,
      wallet: WALLET_A,
      permissions: new Set(["shell-exec:execute", "shell-exec:read"]),
      source: "api-key",
    });
    const stored = await allValuesUnder(redis, prefix);
    const secret = key.slice(`sx_${id}_`.length);
    expect(stored).not.toContain(secret);
    expect(stored).toContain(createHash("sha256").update(key).digest("hex"));
  });

  it("refuses unknown, altered and foreign-format keys without recognising them", async () => {
    const { key } = await store.create({ name: "x", wallet: WALLET_A, permissions: ["shell-exec:read"] });
    const last = key.at(-1) === "A" ? "B" : "A";
    expect(await store.authenticate({ apiKey: key.slice(0, -1) + last })).toBeNull();
    expect(await store.authenticate({ apiKey: `sx_${"0".repeat(20)}_${"A".repeat(43)}` })).toBeNull();
    expect(await store.authenticate({ apiKey: "a-static-key-0123456789" })).toBeNull();
    expect(await store.authenticate({ apiKey: undefined })).toBeNull();
  });

  it("revocation takes effect on the very next request, also through a second store (another API process)", async () => {
    const otherProcess = new ApiKeyStore({ redis, prefix });
    const { id, key } = await store.create({ name: "to-revoke", wallet: WALLET_A, permissions: ["shell-exec:read"] });
    expect(await otherProcess.authenticate({ apiKey: key })).not.toBeNull();
    expect(await store.revoke(id)).toBe("revoked");
    expect(await otherProcess.authenticate({ apiKey: key })).toBeNull();
    expect(await store.revoke(id)).toBe("already-revoked");
    expect(await store.revoke("ffffffffffffffffffff")).toBe("not-found");
    expect(await store.revoke("../../etc")).toBe("not-found");
    expect((await store.get(id))?.status).toBe("revoked");
  });

  it("refuses an expired key even while Redis still holds it", async () => {
    let now = new Date("2030-01-01T00:00:00Z");
    const clocked = new ApiKeyStore({ redis, prefix, now: () => now });
    const { id, key } = await clocked.create({ name: "short", wallet: WALLET_B, permissions: ["audit:read"], expiresAt: new Date("2030-01-01T01:00:00Z") });
    expect(await clocked.authenticate({ apiKey: key })).not.toBeNull();
    now = new Date("2030-01-01T01:00:00Z");
    expect(await clocked.authenticate({ apiKey: key })).toBeNull();
    expect((await clocked.get(id))?.status).toBe("expired");
    await expect(clocked.create({ name: "past", wallet: WALLET_B, permissions: ["audit:read"], expiresAt: new Date("2029-01-01T00:00:00Z") })).rejects.toThrow(
      /future/,
    );
  });

  it("lets Redis drop the digest entry of an expired key by itself", async () => {
    const { key } = await store.create({ name: "soon", wallet: WALLET_B, permissions: ["audit:read"], expiresAt: new Date(Date.now() + 60_000) });
    const ttl = await redis.pttl(`${prefix}:apikey-digest:${createHash("sha256").update(key).digest("hex")}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("lists keys newest first, by wallet, without keys or digests", async () => {
    const listPrefix = uniquePrefix("apikeys-list");
    const listing = new ApiKeyStore({ redis, prefix: listPrefix });
    try {
      const first = await listing.create({ name: "first", wallet: WALLET_A, permissions: ["shell-exec:read"] });
      await new Promise((resolve) => setTimeout(resolve, 2));
      const second = await listing.create({ name: "second", wallet: WALLET_B, permissions: ["audit:read", "audit:read"] });
      const all = await listing.list();
      expect(all.map((k) => k.id)).toEqual([second.id, first.id]);
      expect(all[0]).toEqual({
        id: second.id,
        name: "second",
        wallet: WALLET_B,
        permissions: ["audit:read"],
        createdAt: expect.any(String) as string,
        expiresAt: null,
        revokedAt: null,
        status: "active",
      });
      expect((await listing.list(WALLET_A)).map((k) => k.name)).toEqual(["first"]);
      const text = JSON.stringify(all);
      expect(text).not.toContain(first.key);
      expect(text).not.toContain(createHash("sha256").update(first.key).digest("hex"));
    } finally {
      await deleteKeysWithPrefix(redis, listPrefix);
    }
  });

  it("validates what it issues", async () => {
    await expect(store.create({ name: "bad", wallet: "cosmos1abc", permissions: ["shell-exec:read"] })).rejects.toThrow();
    await expect(store.create({ name: "bad", wallet: WALLET_A, permissions: [] })).rejects.toThrow();
    // @ts-expect-error: not a permission
    await expect(store.create({ name: "bad", wallet: WALLET_A, permissions: ["root"] })).rejects.toThrow();
  });
});
