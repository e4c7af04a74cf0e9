import { z } from "zod";
import { AKASH_ADDRESS_PATTERN, type AkashWallet } from "./wallet.ts";

/**
 * Provider JWTs (AEP-64), as chain-sdk's specs/jwt-schema.json defines them. The schemas are strict: the published
 * schema forbids extra claims, and the simulator verifies tokens against these same schemas.
 */
const akashAddress = z.string().regex(AKASH_ADDRESS_PATTERN, "an akash1… address");
export const leaseActionSchema = z.enum([
  "send-manifest", "get-manifest", "logs", "shell", "events", "status", "restart", "hostname-migrate", "ip-migrate",
  "attestation",
]);
export type LeaseAction = z.infer<typeof leaseActionSchema>;
const actionScope = z
  .array(leaseActionSchema)
  .min(1)
  .refine((scope) => new Set(scope).size === scope.length, "scope entries must be unique");

const leasePermissionSchema = z.union([
  z.strictObject({ provider: akashAddress, access: z.literal("full") }),
  z.strictObject({ provider: akashAddress, access: z.literal("scoped"), scope: actionScope }),
  z.strictObject({
    provider: akashAddress,
    access: z.literal("granular"),
    deployments: z
      .array(
        z.strictObject({
          dseq: z.number().int().min(1),
          scope: actionScope,
          gseq: z.number().int().min(0).optional(),
          oseq: z.number().int().min(0).optional(),
          services: z.array(z.string().min(1)).min(1),
        }),
      )
      .min(1),
  }),
]);

export const leasesClaimSchema = z.union([
  z.strictObject({ access: z.literal("full") }),
  z.strictObject({ access: z.literal("scoped"), scope: actionScope }),
  z.strictObject({
    access: z.literal("granular"),
    permissions: z
      .array(leasePermissionSchema)
      .min(1)
      .refine(
        (permissions) => new Set(permissions.map((p) => p.provider)).size === permissions.length,
        "a provider may appear once in permissions",
      ),
  }),
]);
export type LeasesClaim = z.infer<typeof leasesClaimSchema>;

export const providerJwtClaimsSchema = z.strictObject({
  iss: akashAddress,
  iat: z.number().int().min(0),
  nbf: z.number().int().min(0),
  exp: z.number().int().min(0),
  jti: z.string().min(1).optional(),
  version: z.literal("v1"),
  leases: leasesClaimSchema,
});
export type ProviderJwtClaims = z.infer<typeof providerJwtClaimsSchema>;

export const providerJwtHeaderSchema = z.object({ alg: z.string(), typ: z.string().optional() });

export function base64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString("base64url");
}

/**
 * Signs `base64url(header).base64url(claims)` with ES256K. Header and claims are serialised with sorted keys, as
 * chain-sdk's TypeScript signer does (json-stable-stringify), so the same claims always give the same token.
 */
export function signEs256kJwt(wallet: AkashWallet, claims: object, header: object = { alg: "ES256K", typ: "JWT" }): string {
  const signingInput = `${base64url(stableStringify(header))}.${base64url(stableStringify(claims))}`;
  const signature = wallet.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => stableStringify(item)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(",")}}`;
}

export interface ProviderTokenRequest {
  wallet: AkashWallet;
  provider: string;
  scope: LeaseAction[];
  /** Seconds the token is valid for. */
  ttlSeconds: number;
  /** Seconds `nbf` is set back, because providers check nbf with zero leeway and clocks drift. */
  backdateSeconds?: number;
  now?: () => number;
}

/** Claims for one provider and the given actions: granular, so a token leaked by one provider is useless elsewhere. */
export function providerTokenClaims(request: ProviderTokenRequest): ProviderJwtClaims {
  const nowSeconds = Math.floor((request.now ?? Date.now)() / 1000);
  return {
    iss: request.wallet.address,
    iat: nowSeconds,
    nbf: nowSeconds - (request.backdateSeconds ?? 30),
    exp: nowSeconds + request.ttlSeconds,
    version: "v1",
    leases: { access: "granular", permissions: [{ provider: request.provider, access: "scoped", scope: request.scope }] },
  };
}

export function mintProviderToken(request: ProviderTokenRequest): { token: string; claims: ProviderJwtClaims } {
  const claims = providerTokenClaims(request);
  return { token: signEs256kJwt(request.wallet, claims), claims };
}

/**
 * Mints tokens per (wallet, provider) and reuses each until it is within `refreshBeforeSeconds` of expiry: signing
 * costs about half a millisecond, and a busy worker would otherwise sign once per command.
 */
export class ProviderTokenCache {
  readonly #tokens = new Map<string, { token: string; exp: number }>();
  readonly #ttlSeconds: number;
  readonly #refreshBeforeSeconds: number;
  readonly #now: () => number;
  readonly #scope: LeaseAction[];

  constructor(options: { ttlSeconds?: number; refreshBeforeSeconds?: number; scope?: LeaseAction[]; now?: () => number } = {}) {
    this.#ttlSeconds = options.ttlSeconds ?? 900;
    this.#refreshBeforeSeconds = options.refreshBeforeSeconds ?? 60;
    this.#scope = options.scope ?? ["shell", "status"];
    this.#now = options.now ?? Date.now;
  }

  tokenFor(wallet: AkashWallet, provider: string): string {
    const key = `${wallet.address}|${provider}`;
    const nowSeconds = Math.floor(this.#now() / 1000);
    const cached = this.#tokens.get(key);
    if (cached && cached.exp - this.#refreshBeforeSeconds > nowSeconds) return cached.token;
    const { token, claims } = mintProviderToken({
      wallet, provider, scope: this.#scope, ttlSeconds: this.#ttlSeconds, now: this.#now,
    });
    this.#tokens.set(key, { token, exp: claims.exp });
    return token;
  }

  /** Drops a token the provider refused (e.g. after a key rotation), so the next call mints a fresh one. */
  invalidate(wallet: AkashWallet, provider: string): void {
    this.#tokens.delete(`${wallet.address}|${provider}`);
  }
}
