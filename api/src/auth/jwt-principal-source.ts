import { createPublicKey, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters, type JWTPayload } from "jose";
import { z } from "zod";
import { AKASH_ADDRESS_PATTERN } from "@shell-exec/shared/akash/wallet.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { UnavailableError } from "../errors.ts";
import { PERMISSIONS, type Permission, type Principal, type PrincipalSource } from "./principal.ts";

/**
 * Only asymmetric algorithms: the API holds public keys only, so a leaked configuration cannot mint tokens, and an
 * HS256 token "signed" with a public key (the classic algorithm-confusion attack) never verifies.
 */
export const JWT_ALGORITHMS = ["ES256", "RS256", "EdDSA"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export type JwtKeySource =
  | { kind: "jwks"; url: URL; timeoutMs?: number; cooldownMs?: number; cacheMaxAgeMs?: number }
  /** A PEM (SPKI public key or certificate) or a JWK as JSON text. */
  | { kind: "public-key"; key: string };

export interface JwtPrincipalSourceOptions {
  key: JwtKeySource;
  /** Accepted `iss` value(s). Required: a token from another issuer is never valid here. */
  issuer: string | readonly string[];
  /** Accepted `aud` value(s). Required: a token minted for another service is never valid here. */
  audience: string | readonly string[];
  /** Leeway for `exp`/`nbf`/`iat`, for clock skew between the issuer and this API. Default 30. */
  clockToleranceSeconds?: number;
  /** Subset of JWT_ALGORITHMS to accept. Default all of them (narrowed to the key's type for a fixed key). */
  algorithms?: readonly JwtAlgorithm[];
  /** Claim with the principal's `akash1…` wallet. Default `akash_wallet`. */
  walletClaim?: string;
  /** Claim with the permissions: an array or a space-separated string. Default `permissions`; `scope` is read when absent. */
  permissionsClaim?: string;
  /** Refuse tokens without `exp` (default true): a token that never expires is a credential that never dies. */
  requireExpiration?: boolean;
  logger?: Logger;
}

type GetKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<KeyObject | CryptoKey>;

/** The JWKS endpoint could not be read: the API cannot decide, which is a 503, not a 401. */
class JwksUnavailableError extends Error {}

const BEARER = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i;

const stringOrList = z.union([z.string(), z.array(z.string())]);

/** Which of our algorithms a fixed key can verify. */
function algorithmsForKey(key: KeyObject): JwtAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case "ec":
      return key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? ["ES256"] : [];
    case "rsa":
      return ["RS256"];
    case "ed25519":
      return ["EdDSA"];
    default:
      return [];
  }
}

export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    const jwk = z.record(z.string(), z.unknown()).parse(JSON.parse(trimmed));
    if ("d" in jwk) throw new Error("the JWT verification key is a private JWK: configure the public key only");
    return createPublicKey({ key: jwk, format: "jwk" });
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) {
    throw new Error("the JWT verification key is a private key: configure the public key only");
  }
  return createPublicKey(trimmed);
}

/**
 * Bearer JWTs from an identity provider, verified with jose against a JWKS URL or a fixed public key. A token that
 * fails any check (signature, algorithm, issuer, audience, time, wallet claim) is simply not recognised, so the
 * middleware answers 401; the reason goes to the debug log, never the token.
 */
export class JwtPrincipalSource implements PrincipalSource {
  readonly #getKey: GetKey;
  readonly #algorithms: JwtAlgorithm[];
  readonly #issuer: string[];
  readonly #audience: string[];
  readonly #clockTolerance: number;
  readonly #walletClaim: string;
  readonly #permissionsClaim: string;
  readonly #requiredClaims: string[];
  readonly #logger: Logger | undefined;

  constructor(options: JwtPrincipalSourceOptions) {
    const allowed = [...(options.algorithms ?? JWT_ALGORITHMS)];
    for (const alg of allowed) if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) throw new Error(`JWT algorithm ${alg} is not allowed`);
    if (allowed.length === 0) throw new Error("at least one JWT algorithm is required");
    this.#issuer = [options.issuer].flat();
    this.#audience = [options.audience].flat();
    if (this.#issuer.length === 0 || this.#issuer.some((v) => !v)) throw new Error("a JWT issuer is required");
    if (this.#audience.length === 0 || this.#audience.some((v) => !v)) throw new Error("a JWT audience is required");
    this.#clockTolerance = options.clockToleranceSeconds ?? 30;
    this.#walletClaim = options.walletClaim ?? "akash_wallet";
    this.#permissionsClaim = options.permissionsClaim ?? "permissions";
    this.#requiredClaims = ["sub", ...(options.requireExpiration === false ? [] : ["exp"])];
    this.#logger = options.logger;

    if (options.key.kind === "public-key") {
      const key = parsePublicKey(options.key.key);
      this.#algorithms = allowed.filter((alg) => algorithmsForKey(key).includes(alg));
      if (this.#algorithms.length === 0) {
        throw new Error(`the JWT public key (${key.asymmetricKeyType ?? "?"}) fits none of the allowed algorithms ${allowed.join(", ")}`);
      }
      this.#getKey = () => Promise.resolve(key);
    } else {
      this.#algorithms = allowed;
      const remote = createRemoteJWKSet(options.key.url, {
        timeoutDuration: options.key.timeoutMs ?? 5_000,
        cooldownDuration: options.key.cooldownMs ?? 30_000,
        cacheMaxAge: options.key.cacheMaxAgeMs ?? 600_000,
      });
      this.#getKey = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          // A key that is not in the set is the token's problem (401); an endpoint that fails is ours (503).
          if (
            error instanceof errors.JWKSNoMatchingKey ||
            error instanceof errors.JWKSMultipleMatchingKeys ||
            error instanceof errors.JOSEAlgNotAllowed ||
            error instanceof errors.JOSENotSupported
          ) {
            throw error;
          }
          throw new JwksUnavailableError("the JWKS endpoint could not be read", { cause: error });
        }
      };
    }
  }

  async authenticate(headers: { authorization: string | undefined; apiKey?: string | undefined }): Promise<Principal | null> {
    const match = headers.authorization ? BEARER.exec(headers.authorization) : null;
    if (!match) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, this.#getKey, {
        algorithms: this.#algorithms,
        issuer: this.#issuer,
        audience: this.#audience,
        clockTolerance: this.#clockTolerance,
        requiredClaims: this.#requiredClaims,
      }));
    } catch (error) {
      if (error instanceof JwksUnavailableError) {
        this.#logger?.warn({ err: error.cause }, "JWKS endpoint unavailable");
        throw new UnavailableError("The identity provider's keys (JWKS) cannot be read right now; try again shortly.", error.cause);
      }
      this.#logger?.debug({ reason: error instanceof errors.JOSEError ? error.code : "invalid" }, "bearer token refused");
      return null;
    }
    return this.#principalFrom(payload);
  }

  #principalFrom(payload: JWTPayload): Principal | null {
    const wallet = payload[this.#walletClaim];
    if (typeof payload.sub !== "string" || payload.sub.length === 0) return null;
    if (typeof wallet !== "string" || !AKASH_ADDRESS_PATTERN.test(wallet)) {
      this.#logger?.debug({ reason: "wallet claim missing or not an akash1… address" }, "bearer token refused");
      return null;
    }
    return { id: `jwt:${payload.sub}`, wallet, permissions: this.#permissionsFrom(payload), source: "jwt" };
  }

  /** Unknown permission names are ignored, not an error: an IdP may put other services' scopes in the same claim. */
  #permissionsFrom(payload: JWTPayload): Set<Permission> {
    const raw = payload[this.#permissionsClaim] ?? payload.scope;
    const parsed = stringOrList.safeParse(raw);
    if (!parsed.success) return new Set();
    const names = typeof parsed.data === "string" ? parsed.data.split(/\s+/) : parsed.data;
    return new Set(names.filter((name): name is Permission => (PERMISSIONS as readonly string[]).includes(name)));
  }
}
