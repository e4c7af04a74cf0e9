import type { X509Certificate } from "node:crypto";
import { providerJwtClaimsSchema } from "@shell-exec/shared/akash/provider-jwt.ts";
import { verifySecp256k1 } from "@shell-exec/shared/akash/wallet.ts";
import { isAkashAddress } from "../bech32.ts";
import type { ChainState } from "../state.ts";

/**
 * Provider gateway authentication as akash-network/provider does it (gateway/rest/auth.go, gateway/utils/utils.go
 * AuthProcess, chain-sdk go/util/jwt, golang-jwt v5 ParseWithClaims) and its answers (utils/httperror):
 *
 * - Authorization header not exactly `Bearer <token>` → 400 "invalid authorization header".
 * - mTLS certificate and a token → 400 ambiguous.
 * - Token that does not parse, alg other than ES256K, unknown issuer/account, bad or high-S signature → 401
 *   "JWT is invalid".
 * - Token that verifies but fails claim validation: expired, not yet valid (zero leeway), missing iat/nbf/exp, wrong
 *   version, bad `leases` → 400 "JWT has invalid claims". golang-jwt wraps ErrTokenExpired inside
 *   ErrTokenInvalidClaims and the provider tests ErrTokenInvalidClaims first, so an expired token gets this answer
 *   too; "JWT is expired" (401) is unreachable through ParseWithClaims.
 */

export class GatewayHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export const AuthErrors = {
  invalidAuthHeader: () => new GatewayHttpError(400, "invalid authorization header"),
  invalidClaims: () => new GatewayHttpError(400, "JWT has invalid claims"),
  ambiguous: () => new GatewayHttpError(400, "auth: ambiguous authentication. may not use mTLS and JWT at the same time"),
  unauthorized: () => new GatewayHttpError(401, "unauthorized access"),
  invalid: () => new GatewayHttpError(401, "JWT is invalid"),
  unknown: () => new GatewayHttpError(500, "unknown error while processing JWT"),
} as const;

/** "full" | "scoped" | "granular" | "none", or whatever a token says (rejected by validation). */
export type AccessType = string;

export interface PermissionDeployment {
  scope: string[];
  dseq: bigint;
  gseq: number;
  oseq: number;
  services: string[];
}

export interface Permission {
  provider: string;
  access: string;
  scope: string[] | null;
  deployments: PermissionDeployment[] | null;
}

export interface Claims {
  iss: string;
  version: string;
  leases: { access: AccessType; scope: string[] | null; permissions: Permission[] | null };
  /** Seconds (truncated as golang-jwt does); null when absent. */
  iat: number | null;
  nbf: number | null;
  exp: number | null;
}

export interface AuthContext {
  state: ChainState;
  /** Reject claims the published schema (chain-sdk specs/jwt-schema.json) forbids, such as extra claims. */
  strictSchema: boolean;
  now?: () => number;
}

/** Splits the Authorization header as AuthHeaderTokenExtractor does: "" when absent. */
export function extractBearerToken(header: string | undefined): string {
  if (header === undefined || header === "") return "";
  // strings.Fields: split on runs of Unicode white space.
  const parts = header.split(/\s+/).filter((part) => part !== "");
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== "bearer") throw AuthErrors.invalidAuthHeader();
  return parts[1]!;
}

/**
 * AuthProcess: claims for an mTLS client (already verified during the TLS handshake), a JWT, or none (access
 * "none", which every protected route then refuses with 401).
 */
export function authenticate(context: AuthContext, peerCertificate: X509Certificate | undefined, token: string): Claims {
  let claims: Claims = { iss: "", version: "", leases: { access: "none", scope: null, permissions: null }, iat: null, nbf: null, exp: null };
  if (peerCertificate) {
    const owner = commonName(peerCertificate.subject);
    if (!isAkashAddress(owner)) throw AuthErrors.unknown();
    const now = Math.floor((context.now ?? Date.now)() / 1000);
    claims = { iss: owner, version: "v1", leases: { access: "full", scope: null, permissions: null }, iat: now, nbf: now, exp: now + 900 };
  }
  if (claims.leases.access !== "none" && token !== "") throw AuthErrors.ambiguous();
  if (token !== "") claims = verifyJwt(context, token);
  return claims;
}

function verifyJwt(context: AuthContext, token: string): Claims {
  // ---- ParseUnverified: three base64url segments, JSON header with a string alg, claims that decode ----
  const parts = token.split(".");
  if (parts.length !== 3) throw AuthErrors.invalid();
  const [headerSegment, claimsSegment, signatureSegment] = parts as [string, string, string];
  const header = decodeJsonSegment(headerSegment);
  const rawClaims = decodeJsonSegment(claimsSegment);
  const signature = decodeSegment(signatureSegment);
  if (!isObject(header) || !isObject(rawClaims) || signature === null) throw AuthErrors.invalid();
  const alg = header.alg;
  if (typeof alg !== "string") throw AuthErrors.invalid();
  const claims = decodeClaims(rawClaims);
  if (claims === null) throw AuthErrors.invalid();

  // ---- WithValidMethods(ES256K, ES256KADR36); the sim verifies ES256K only ----
  if (alg !== "ES256K") throw AuthErrors.invalid();

  // ---- keyfunc: issuer must be an address whose account publishes a public key ----
  if (!isAkashAddress(claims.iss)) throw AuthErrors.invalid();
  const publicKey = context.state.accounts.get(claims.iss)?.publicKey;
  if (!publicKey) throw AuthErrors.invalid();

  // ---- ES256K: cosmos secp256k1 VerifySignature (64-byte r||s, low S, sha256) ----
  const signingInput = new TextEncoder().encode(`${headerSegment}.${claimsSegment}`);
  if (!verifySecp256k1(signature, signingInput, publicKey)) throw AuthErrors.invalid();

  // ---- claim validation (golang-jwt Validator with zero leeway, then Claims.Validate) ----
  const nowMs = (context.now ?? Date.now)();
  if (claims.exp !== null && !(nowMs < claims.exp * 1000)) throw AuthErrors.invalidClaims();
  if (claims.nbf !== null && nowMs < claims.nbf * 1000) throw AuthErrors.invalidClaims();
  if (!validateClaims(claims)) throw AuthErrors.invalidClaims();
  if (context.strictSchema && !providerJwtClaimsSchema.safeParse(rawClaims).success) throw AuthErrors.invalidClaims();
  return claims;
}

function decodeSegment(segment: string): Uint8Array | null {
  // base64.RawURLEncoding: no padding, URL alphabet.
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) return null;
  return new Uint8Array(Buffer.from(segment, "base64url"));
}

function decodeJsonSegment(segment: string): unknown {
  const bytes = decodeSegment(segment);
  if (bytes === null) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class Malformed extends Error {}

/** Go's encoding/json into chain-sdk's Claims struct: wrong types fail the decode; unknown fields are ignored. */
function decodeClaims(raw: Record<string, unknown>): Claims | null {
  try {
    const leases = raw.leases ?? null;
    if (leases !== null && !isObject(leases)) throw new Malformed();
    const decodedLeases = {
      access: optionalString(leases?.access),
      scope: optionalStringArray(leases?.scope),
      permissions: optionalArray(leases?.permissions, (permission): Permission => {
        if (!isObject(permission)) throw new Malformed();
        const provider = optionalString(permission.provider);
        // sdk.AccAddress.UnmarshalJSON: "" is the empty address, anything else must be a valid address.
        if (provider !== "" && !isAkashAddress(provider)) throw new Malformed();
        return {
          provider,
          access: optionalString(permission.access),
          scope: optionalStringArray(permission.scope),
          deployments: optionalArray(permission.deployments, (deployment): PermissionDeployment => {
            if (!isObject(deployment)) throw new Malformed();
            return {
              scope: optionalStringArray(deployment.scope) ?? [],
              dseq: unsigned(deployment.dseq, 64),
              gseq: Number(unsigned(deployment.gseq, 32)),
              oseq: Number(unsigned(deployment.oseq, 32)),
              services: optionalStringArray(deployment.services) ?? [],
            };
          }),
        };
      }),
    };
    for (const key of ["sub", "jti"]) optionalString(raw[key]);
    if (raw.aud !== undefined && raw.aud !== null && typeof raw.aud !== "string") optionalStringArray(raw.aud);
    return {
      iss: optionalString(raw.iss),
      version: optionalString(raw.version),
      leases: decodedLeases,
      iat: numericDate(raw.iat),
      nbf: numericDate(raw.nbf),
      exp: numericDate(raw.exp),
    };
  } catch (error) {
    if (error instanceof Malformed) return null;
    throw error;
  }
}

function optionalString(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new Malformed();
  return value;
}

function optionalArray<T>(value: unknown, map: (item: unknown) => T): T[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new Malformed();
  return value.map(map);
}

function optionalStringArray(value: unknown): string[] | null {
  return optionalArray(value, (item) => {
    if (typeof item !== "string") throw new Malformed();
    return item;
  });
}

function unsigned(value: unknown, bits: 32 | 64): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new Malformed();
  const big = BigInt(value);
  if (big >= 1n << BigInt(bits)) throw new Malformed();
  return big;
}

/** jwt.NumericDate: any JSON number, truncated to whole seconds. */
function numericDate(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Malformed();
  return Math.trunc(value);
}

const VALID_SCOPES = new Set([
  "send-manifest", "get-manifest", "logs", "shell", "events", "status", "restart", "hostname-migrate", "ip-migrate",
  "attestation",
]);

function validScopes(scope: string[]): boolean {
  return scope.every((s) => VALID_SCOPES.has(s)) && new Set(scope).size === scope.length;
}

/** chain-sdk go/util/jwt Claims.Validate. */
function validateClaims(claims: Claims): boolean {
  if (!isAkashAddress(claims.iss)) return false;
  if (claims.iat === null || claims.nbf === null || claims.exp === null) return false;
  if (claims.version !== "v1") return false;
  const { leases } = claims;
  switch (leases.access) {
    case "full":
      return (leases.permissions ?? []).length === 0 && (leases.scope ?? []).length === 0;
    case "scoped":
      return leases.permissions === null && (leases.scope ?? []).length > 0 && validScopes(leases.scope ?? []);
    case "granular":
      return (leases.permissions ?? []).length > 0 && validPermissions(leases.permissions ?? []);
    default:
      return false;
  }
}

function validPermissions(permissions: Permission[]): boolean {
  const providers = new Set<string>();
  for (const permission of permissions) {
    if (permission.provider === "" || providers.has(permission.provider)) return false;
    providers.add(permission.provider);
    switch (permission.access) {
      case "full":
        if ((permission.deployments ?? []).length > 0 || (permission.scope ?? []).length > 0) return false;
        break;
      case "scoped":
        if (permission.deployments !== null) return false;
        if ((permission.scope ?? []).length === 0 || !validScopes(permission.scope ?? [])) return false;
        break;
      case "granular": {
        if (permission.scope !== null) return false;
        const deployments = permission.deployments ?? [];
        if (deployments.length === 0) return false;
        for (const deployment of deployments) {
          if (deployment.scope.length === 0 || deployment.dseq === 0n) return false;
          if (deployment.oseq > 0 && deployment.gseq === 0) return false;
          if (!validScopes(deployment.scope)) return false;
          if (deployment.services.length === 0 || new Set(deployment.services).size !== deployment.services.length) return false;
        }
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// ---- authorization (chain-sdk Claims.Authorize*) ----

export interface GatewayLeaseId {
  owner: string;
  dseq: bigint;
  gseq: number;
  oseq: number;
  provider: string;
}

export function authorizeForProvider(claims: Claims, provider: string): boolean {
  switch (claims.leases.access) {
    case "full":
    case "scoped":
      return true;
    case "granular":
      return (claims.leases.permissions ?? []).some((p) => p.provider === provider);
    default:
      return false;
  }
}

function deploymentMatches(deployment: PermissionDeployment, lease: GatewayLeaseId): boolean {
  return (
    deployment.dseq === lease.dseq &&
    (deployment.gseq === 0 || deployment.gseq === lease.gseq) &&
    (deployment.oseq === 0 || deployment.oseq === lease.oseq)
  );
}

export function authorizeForLeaseId(claims: Claims, lease: GatewayLeaseId): boolean {
  return authorizeLease(claims, lease, null);
}

export function authorizeLeaseForScope(claims: Claims, lease: GatewayLeaseId, scope: string): boolean {
  return authorizeLease(claims, lease, scope);
}

function authorizeLease(claims: Claims, lease: GatewayLeaseId, scope: string | null): boolean {
  if (claims.iss !== lease.owner) return false;
  const has = (scopes: string[] | null) => scope === null || (scopes ?? []).includes(scope);
  switch (claims.leases.access) {
    case "full":
      return true;
    case "scoped":
      return has(claims.leases.scope);
    case "granular":
      for (const permission of claims.leases.permissions ?? []) {
        if (permission.provider !== lease.provider) continue;
        switch (permission.access) {
          case "full":
            return true;
          case "scoped":
            return has(permission.scope);
          case "granular":
            return (permission.deployments ?? []).some((d) => deploymentMatches(d, lease) && has(d.scope));
          default:
            return false;
        }
      }
      return false;
    default:
      return false;
  }
}

// ---- mTLS (chain-sdk go/util/tls ValidatePeerCertificates) ----

/**
 * Whether a client certificate presented in the TLS handshake is acceptable: CN an akash address and equal to the
 * issuer CN, the same owner/serial published on chain in state valid, signed by that on-chain certificate's key,
 * within its validity period, and usable for client auth.
 */
export function validateClientCertificate(state: ChainState, certificate: X509Certificate, now = new Date()): boolean {
  const owner = commonName(certificate.subject);
  if (!isAkashAddress(owner) || owner !== commonName(certificate.issuer)) return false;
  const serial = BigInt(`0x${certificate.serialNumber}`).toString(10);
  const onChain = state.certificates.find((c) => c.owner === owner && c.serial === serial && c.state === "valid");
  if (!onChain) return false;
  let onChainCertificate: X509Certificate;
  try {
    onChainCertificate = new (certificate.constructor as typeof X509Certificate)(onChain.pem);
  } catch {
    return false;
  }
  if (!certificate.verify(onChainCertificate.publicKey)) return false;
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) return false;
  const usages = certificate.keyUsage;
  if (usages !== undefined && usages.length > 0 && !usages.includes("1.3.6.1.5.5.7.3.2") && !usages.includes("2.5.29.37.0")) {
    return false;
  }
  return true;
}

function commonName(distinguishedName: string): string {
  for (const line of distinguishedName.split("\n")) {
    if (line.startsWith("CN=")) return line.slice(3);
  }
  return "";
}
