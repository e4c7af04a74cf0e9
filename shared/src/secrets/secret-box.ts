import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { z } from "zod";

/**
 * AES-256-GCM envelope for secret-grade job inputs at rest in Redis. Each sealed value names the key it was sealed
 * with (`v1.<keyId>.<iv>.<tag>.<ciphertext>`), so keys rotate by adding a new active key while old ones still open
 * what they sealed. The job id is bound as additional data: a sealed value copied onto another job does not open.
 */
export interface SecretKey {
  id: string;
  key: Buffer;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

/** `SECRETS_KEYS`: `id:base64key[,id:base64key…]`; the first is the active one. Keys are 32 bytes. */
export const secretKeysSchema = z
  .string()
  .transform((value, ctx) => {
    const keys: SecretKey[] = [];
    for (const part of value.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [id, encoded] = part.split(":");
      const key = Buffer.from(encoded ?? "", "base64");
      if (!id || !keyIdPattern.test(id) || key.length !== 32) {
        ctx.addIssue({ code: "custom", message: "each entry is `<id>:<base64 of 32 random bytes>` (id: letters, digits, _ or -)" });
        return z.NEVER;
      }
      keys.push({ id, key });
    }
    if (keys.length === 0) {
      ctx.addIssue({ code: "custom", message: "at least one key" });
      return z.NEVER;
    }
    return keys;
  });

export class SecretBox {
  readonly #keys: Map<string, Buffer>;
  readonly #active: SecretKey;

  constructor(keys: readonly SecretKey[]) {
    if (keys.length === 0) throw new SecretBoxError("no secret keys configured");
    this.#keys = new Map(keys.map((k) => [k.id, k.key]));
    this.#active = keys[0]!;
  }

  static generateKey(): string {
    return randomBytes(32).toString("base64");
  }

  get activeKeyId(): string {
    return this.#active.id;
  }

  seal(plaintext: Buffer, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#active.key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ["v1", this.#active.id, iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(".");
  }

  /**
   * A keyed digest of data that may contain secrets (e.g. an idempotent request's body), safe to store: unlike a plain
   * hash it cannot be used to confirm a guessed secret without the key. The key id is part of the result, so a digest
   * made before a rotation is recomputed with the same key.
   */
  fingerprint(data: Buffer, keyId: string = this.#active.id): string {
    const key = this.#keys.get(keyId);
    if (!key) throw new SecretBoxError(`fingerprint made with key "${keyId}", which is not configured`);
    const macKey = Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("shell-exec fingerprint"), 32));
    return `${keyId}.${createHmac("sha256", macKey).update(data).digest("base64url")}`;
  }

  fingerprintMatches(fingerprint: string, data: Buffer): boolean {
    const keyId = fingerprint.split(".")[0] ?? "";
    if (!this.#keys.has(keyId)) return false;
    return this.fingerprint(data, keyId) === fingerprint;
  }

  open(sealed: string, associatedData: string): Buffer {
    const [version, keyId, iv, tag, ciphertext] = sealed.split(".");
    if (version !== "v1" || !keyId || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new SecretBoxError("not a sealed value");
    }
    const key = this.#keys.get(keyId);
    if (!key) throw new SecretBoxError(`sealed with key "${keyId}", which is not configured`);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
    } catch {
      throw new SecretBoxError("sealed value does not open (tampered, or bound to another job)");
    }
  }
}
