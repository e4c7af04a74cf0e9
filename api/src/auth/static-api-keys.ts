import { createHash, timingSafeEqual } from "node:crypto";
import { PERMISSIONS, type Principal, type PrincipalSource } from "./principal.ts";

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * Single-wallet mode: the keys in SHELL_EXEC_API_KEYS all act for the configured wallet with every permission.
 * Only digests are kept in memory, compared in constant time.
 */
export class StaticApiKeySource implements PrincipalSource {
  readonly #keys: { digest: Buffer; principal: Principal }[];

  constructor(options: { keys: readonly string[]; wallet: string }) {
    this.#keys = options.keys.map((key) => {
      const keyDigest = digest(key);
      return {
        digest: keyDigest,
        principal: {
          id: `key:${keyDigest.subarray(0, 8).toString("hex")}`,
          wallet: options.wallet,
          permissions: new Set(PERMISSIONS),
          source: "api-key",
        },
      };
    });
  }

  authenticate(headers: { apiKey: string | undefined }): Promise<Principal | null> {
    if (!headers.apiKey) return Promise.resolve(null);
    const presented = digest(headers.apiKey);
    let found: Principal | null = null;
    // Compare against every key so the time taken does not say which one matched.
    for (const entry of this.#keys) if (timingSafeEqual(entry.digest, presented)) found = entry.principal;
    return Promise.resolve(found);
  }
}
