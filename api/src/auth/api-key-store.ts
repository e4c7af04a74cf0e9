import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { AKASH_ADDRESS_PATTERN } from "@shell-exec/shared/akash/wallet.ts";
import { PERMISSIONS, type Permission, type Principal, type PrincipalSource } from "./principal.ts";

/**
 * Issued API keys look like `sx_<id>_<secret>`: the id (20 hex characters, 80 random bits) names the key in listings,
 * audit entries and `revoke`; the secret is 32 random bytes in base64url. Only the SHA-256 digest of the whole key
 * is stored. A fast, unsalted hash is right here: the key has 256 bits of entropy, so there is no dictionary to
 * attack and nothing a slow KDF would protect; a digest also makes the lookup a single O(1) Redis read.
 */
export const API_KEY_PATTERN = /^sx_([0-9a-f]{20})_([A-Za-z0-9_-]{43})$/;
const API_KEY_ID_PATTERN = /^[0-9a-f]{20}$/;

export const apiKeyKeys = (prefix: string) => ({
  /** Hash: the key's record (name, wallet, permissions, times, digest). Kept after revocation for listings. */
  record: (id: string) => `${prefix}:apikey:${id}`,
  /** Hash: what authentication needs, found by the digest of the presented key. Deleted on revoke. */
  byDigest: (digestHex: string) => `${prefix}:apikey-digest:${digestHex}`,
  /** Sorted set: every key id by creation time (ms), for listings. */
  index: `${prefix}:apikeys`,
});

export const permissionSchema = z.enum(PERMISSIONS);

export const createApiKeyInputSchema = z.object({
  name: z.string().trim().min(1).max(100),
  wallet: z.string().regex(AKASH_ADDRESS_PATTERN, "an akash1… address"),
  permissions: z.array(permissionSchema).min(1).transform((list) => [...new Set(list)]),
  expiresAt: z.date().optional(),
});
export type CreateApiKeyInput = z.input<typeof createApiKeyInputSchema>;

/** A key as listings show it: never the key itself, never its digest. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  wallet: string;
  permissions: Permission[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  status: "active" | "expired" | "revoked";
}

export type RevokeResult = "revoked" | "already-revoked" | "not-found";

const storedPermissionsSchema = z.string().transform((text, ctx) => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  const parsed = z.array(permissionSchema).safeParse(value);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: "stored permissions are not valid" });
    return z.NEVER;
  }
  return parsed.data;
});

const recordSchema = z.object({
  id: z.string(),
  name: z.string(),
  wallet: z.string(),
  permissions: storedPermissionsSchema,
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
});

// Revocation removes the digest entry (so the very next request is refused) and stamps the record, atomically.
const REVOKE = `
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest then return 'not-found' end
if redis.call('HEXISTS', KEYS[1], 'revokedAt') == 1 then return 'already-revoked' end
redis.call('DEL', ARGV[1] .. digest)
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[2])
return 'revoked'`;

function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/**
 * API keys issued at run time, kept in Redis under the installation's prefix. Also the `PrincipalSource` for them:
 * each request costs one HMGET by digest and nothing is cached in process, so a revocation takes effect at once on
 * every API process.
 */
export class ApiKeyStore implements PrincipalSource {
  readonly #redis: Redis;
  readonly #keys: ReturnType<typeof apiKeyKeys>;
  readonly #now: () => Date;

  constructor(deps: { redis: Redis; prefix: string; now?: () => Date }) {
    this.#redis = deps.redis;
    this.#keys = apiKeyKeys(deps.prefix);
    this.#now = deps.now ?? (() => new Date());
  }

  /** Issues a key. The returned `key` is the only time it exists in clear: show it once, store nothing else. */
  async create(input: CreateApiKeyInput): Promise<{ id: string; key: string; info: ApiKeyInfo }> {
    const parsed = createApiKeyInputSchema.parse(input);
    const now = this.#now();
    if (parsed.expiresAt && parsed.expiresAt.getTime() <= now.getTime()) throw new Error("expiresAt must be in the future");
    const id = randomBytes(10).toString("hex");
    const key = `sx_${id}_${randomBytes(32).toString("base64url")}`;
    const digest = sha256Hex(key);
    const createdAt = now.toISOString();
    const expiresAt = parsed.expiresAt?.toISOString();
    const permissions = JSON.stringify(parsed.permissions);
    const record: Record<string, string> = { id, name: parsed.name, wallet: parsed.wallet, permissions, createdAt, digest };
    const auth: Record<string, string> = { id, wallet: parsed.wallet, permissions };
    if (expiresAt) {
      record.expiresAt = expiresAt;
      auth.expiresAt = expiresAt;
    }
    const tx = this.#redis
      .multi()
      .hset(this.#keys.record(id), record)
      .hset(this.#keys.byDigest(digest), auth)
      .zadd(this.#keys.index, now.getTime(), id);
    // Redis forgets an expired key's digest entry by itself; the check in authenticate() does not rely on it.
    if (parsed.expiresAt) tx.pexpireat(this.#keys.byDigest(digest), parsed.expiresAt.getTime());
    const replies = await tx.exec();
    if (!replies) throw new Error("Redis discarded the transaction");
    for (const [error] of replies) if (error) throw error;
    return {
      id,
      key,
      info: { id, name: parsed.name, wallet: parsed.wallet, permissions: parsed.permissions, createdAt, expiresAt: expiresAt ?? null, revokedAt: null, status: "active" },
    };
  }

  async get(id: string): Promise<ApiKeyInfo | null> {
    if (!API_KEY_ID_PATTERN.test(id)) return null;
    const fields = await this.#redis.hgetall(this.#keys.record(id));
    return this.#toInfo(fields);
  }

  /** Every key (optionally of one wallet), newest first. */
  async list(wallet?: string): Promise<ApiKeyInfo[]> {
    const ids = await this.#redis.zrevrange(this.#keys.index, 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.record(id));
    const replies = (await pipeline.exec()) ?? [];
    const infos: ApiKeyInfo[] = [];
    for (const [error, fields] of replies) {
      if (error) throw error;
      const info = this.#toInfo(fields as Record<string, string>);
      if (info && (wallet === undefined || info.wallet === wallet)) infos.push(info);
    }
    return infos;
  }

  /** Takes effect at once: the next request with this key is refused by every API process. */
  async revoke(id: string): Promise<RevokeResult> {
    if (!API_KEY_ID_PATTERN.test(id)) return "not-found";
    const result = await this.#redis.eval(REVOKE, 1, this.#keys.record(id), this.#keys.byDigest(""), this.#now().toISOString());
    return z.enum(["revoked", "already-revoked", "not-found"]).parse(result);
  }

  async authenticate(headers: { apiKey: string | undefined }): Promise<Principal | null> {
    const presented = headers.apiKey;
    // Not one of ours (e.g. a static key): let the next source look, without a Redis round trip.
    if (!presented) return null;
    const match = API_KEY_PATTERN.exec(presented);
    if (!match) return null;
    // The lookup is by digest: timing reveals at most something about a digest, never about a key.
    const [id, wallet, permissions, expiresAt] = await this.#redis.hmget(
      this.#keys.byDigest(sha256Hex(presented)),
      "id",
      "wallet",
      "permissions",
      "expiresAt",
    );
    if (!id || !wallet || !permissions || id !== match[1]) return null;
    if (expiresAt && Date.parse(expiresAt) <= this.#now().getTime()) return null;
    const parsed = storedPermissionsSchema.safeParse(permissions);
    if (!parsed.success) return null;
    return { id: `key:${id}`, wallet, permissions: new Set(parsed.data), source: "api-key" };
  }

  #toInfo(fields: Record<string, string>): ApiKeyInfo | null {
    const parsed = recordSchema.safeParse(fields);
    if (!parsed.success) return null;
    const record = parsed.data;
    const expired = record.expiresAt !== undefined && Date.parse(record.expiresAt) <= this.#now().getTime();
    return {
      id: record.id,
      name: record.name,
      wallet: record.wallet,
      permissions: record.permissions,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt ?? null,
      revokedAt: record.revokedAt ?? null,
      status: record.revokedAt ? "revoked" : expired ? "expired" : "active",
    };
  }
}
