import { createHash } from "node:crypto";
import { TtlCache } from "@shell-exec/shared/akash/ttl-cache.ts";
import type { ProviderAuth, ProviderErrorCode, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { getLeaseStatus, type LeaseStatusQuery, type LeaseStatusResult } from "./lease-status-client.ts";
import { checkServiceReady } from "./service-readiness.ts";

export interface LeaseStatusCacheOptions {
  /** How long a successful status is reused; a few seconds keeps a batch on one lease from asking per job. */
  ttlMs?: number;
  maxEntries?: number;
  /** Per status request. */
  timeoutMs?: number;
  /** The fetcher; the real one by default. */
  load?: (query: LeaseStatusQuery) => Promise<LeaseStatusResult>;
  now?: () => number;
}

export type LeaseStatusKey = Omit<LeaseStatusQuery, "timeoutMs" | "signal">;

/**
 * Lease statuses, shared for a few seconds and fetched once at a time per lease (single flight). Only successes are
 * kept: a failure (lease gone, provider down) is handed to whoever was waiting and asked again next time. The key
 * holds a digest of the credentials, because the provider takes the lease owner from them: two wallets may both
 * have a dseq 42.
 */
export class LeaseStatusCache {
  readonly #cache: TtlCache<LeaseStatusResult>;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #load: (query: LeaseStatusQuery) => Promise<LeaseStatusResult>;

  constructor(options: LeaseStatusCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 3_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#load = options.load ?? getLeaseStatus;
    this.#cache = new TtlCache<LeaseStatusResult>({ maxEntries: options.maxEntries ?? 1_000, ...(options.now ? { now: options.now } : {}) });
  }

  get size(): number {
    return this.#cache.size;
  }

  get(key: LeaseStatusKey): Promise<LeaseStatusResult> {
    return this.#cache.getOrLoad(cacheKey(key), async () => {
      const result = await this.#load({ ...key, timeoutMs: this.#timeoutMs });
      return { value: result, ttlMs: result.ok ? this.#ttlMs : 0 };
    });
  }

  /** Forget a lease (e.g. after an exec said its service is gone). */
  invalidate(key: LeaseStatusKey): void {
    this.#cache.delete(cacheKey(key));
  }
}

export interface LeaseCheckInput {
  hostUri: string;
  dseq: string;
  gseq: number;
  oseq: number;
  service: string;
  podIndex: number;
  auth: ProviderAuth;
  tls: ProviderTlsPolicy;
}

/**
 * Null when the service has a replica the exec can use; otherwise why not. Never sends the command, so every
 * failure here has `commandMayHaveRun: false` (the shape of the job processor's ProviderPort.checkLease).
 */
export async function checkLeaseReadiness(
  cache: LeaseStatusCache,
  input: LeaseCheckInput,
): Promise<{ code: ProviderErrorCode; message: string; commandMayHaveRun: false } | null> {
  const { service, podIndex, ...key } = input;
  const result = await cache.get(key);
  if (!result.ok) return { code: result.code, message: result.message, commandMayHaveRun: false };
  const readiness = checkServiceReady(result.status, service, podIndex);
  return readiness.ok ? null : { code: readiness.code, message: readiness.message, commandMayHaveRun: false };
}

function cacheKey(key: LeaseStatusKey): string {
  const credential = key.auth.kind === "jwt" ? `jwt:${key.auth.token}` : `mtls:${key.auth.certPem}`;
  const tlsPolicy = `${key.tls.insecureSkipVerify === true ? "insecure" : "verify"}:${key.tls.onChainCertificatesPem.join("\n")}`;
  const digest = createHash("sha256").update(credential).update("\0").update(tlsPolicy).digest("base64url");
  return `${key.hostUri}|${key.dseq}|${key.gseq}|${key.oseq}|${digest}`;
}
