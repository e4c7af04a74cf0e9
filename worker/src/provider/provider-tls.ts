import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate, type TLSSocket } from "node:tls";
import type { ProviderAuth, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";

/**
 * Which provider certificates the worker accepts, as the Akash console does: one that Node's default trust store
 * validates for the host, or one byte-equal (DER) to a certificate the provider published on chain. Pinned
 * certificates skip the hostname check: providers' self-signed certificates rarely name the host they are reached by.
 *
 * Node cannot express "CA-valid OR pinned" as connection options alone, so the handshake runs with
 * `rejectUnauthorized: false` and `assessPeerCertificate` decides once it completes, before a single byte of HTTP
 * is written. The peer has proven it holds the certificate's key by then (TLS 1.3 CertificateVerify).
 */

/** The provider's certificate is not one the policy trusts. Maps to PROVIDER_TLS_UNTRUSTED. */
export class ProviderTlsUntrustedError extends Error {
  /** Node's verification error code for the CA path (e.g. DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID). */
  readonly verifyError: string | undefined;
  /** SHA-256 fingerprint of the certificate the provider presented, for the operator to compare with the chain. */
  readonly fingerprint256: string | undefined;
  constructor(message: string, details: { verifyError?: string; fingerprint256?: string } = {}) {
    super(message);
    this.name = "ProviderTlsUntrustedError";
    this.verifyError = details.verifyError;
    this.fingerprint256 = details.fingerprint256;
  }
}

export function isProviderTlsUntrusted(error: unknown): error is ProviderTlsUntrustedError {
  return error instanceof ProviderTlsUntrustedError;
}

/**
 * Options for `tls.connect` (and so for `ws` or `https`, which pass them through) to reach `hostname`.
 * mTLS uses the SNI `mtls.<host>` as chain-sdk's client does: a provider that serves a CA certificate for its own
 * name only asks for a client certificate when the SNI is something else (provider gateway/utils NewServerTLSConfig).
 */
export function providerTlsOptions(hostname: string, auth: ProviderAuth): ConnectionOptions {
  const host = stripBrackets(hostname);
  const options: ConnectionOptions = {
    host,
    rejectUnauthorized: false,
    // Node would check against the SNI; the identity to check is always the host itself.
    checkServerIdentity: (_servername: string, cert: PeerCertificate) => checkServerIdentity(host, cert),
  };
  if (auth.kind === "mtls") {
    options.cert = auth.certPem;
    options.key = auth.keyPem;
    options.servername = `mtls.${host}`;
  } else if (isIP(host) === 0) {
    options.servername = host;
  }
  return options;
}

export type PeerCertificateVerdict =
  | { trusted: true; via: "ca" | "on-chain" | "insecure-skip-verify" }
  | { trusted: false; error: ProviderTlsUntrustedError };

/** What the handshake established, read at 'secureConnect' (Node may drop the peer certificate later, e.g. once a
 * TLS 1.3 session ticket arrives). */
export interface PeerCertificateFacts {
  /** Valid for the host under Node's default trust store (chain and hostname). */
  authorized: boolean;
  verifyError: string | undefined;
  certificate: X509Certificate | undefined;
}

export function peerCertificateFacts(socket: TLSSocket): PeerCertificateFacts {
  return { authorized: socket.authorized, verifyError: errorCode(socket.authorizationError), certificate: socket.getPeerX509Certificate() };
}

/** Decides on the facts of a handshake made with `providerTlsOptions`. */
export function assessPeerCertificate(facts: PeerCertificateFacts, policy: ProviderTlsPolicy, now: Date = new Date()): PeerCertificateVerdict {
  if (policy.insecureSkipVerify === true) return { trusted: true, via: "insecure-skip-verify" };
  if (facts.authorized) return { trusted: true, via: "ca" };
  const { verifyError, certificate: peer } = facts;
  if (!peer) return { trusted: false, error: new ProviderTlsUntrustedError("The provider presented no certificate.", { verifyError }) };
  const fingerprint256 = peer.fingerprint256;
  if (!isPinned(peer.raw, policy.onChainCertificatesPem)) {
    return {
      trusted: false,
      error: new ProviderTlsUntrustedError(
        `The provider's certificate is neither valid for the host (${verifyError ?? "unverified"}) nor one it published on chain.`,
        { verifyError, fingerprint256 },
      ),
    };
  }
  if (now < peer.validFromDate || now > peer.validToDate) {
    return {
      trusted: false,
      error: new ProviderTlsUntrustedError(
        `The provider's on-chain certificate is outside its validity period (${peer.validFrom} to ${peer.validTo}).`,
        { verifyError, fingerprint256 },
      ),
    };
  }
  return { trusted: true, via: "on-chain" };
}

/** True when `der` is byte-equal to one of the certificates in the PEM texts; unparsable entries match nothing. */
export function isPinned(der: Uint8Array, pems: readonly string[]): boolean {
  for (const pem of pems) {
    for (const candidate of certificatesInPem(pem)) {
      if (Buffer.compare(candidate, der) === 0) return true;
    }
  }
  return false;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** DER of every CERTIFICATE block; each is checked to parse as X.509, so garbage never matches by accident. */
export function certificatesInPem(pem: string): Buffer[] {
  const found: Buffer[] = [];
  for (const match of pem.matchAll(PEM_CERTIFICATE)) {
    const der = Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64");
    try {
      found.push(Buffer.from(new X509Certificate(der).raw));
    } catch {
      // Not a certificate: skip it.
    }
  }
  return found;
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

function errorCode(error: Error | undefined | null): string | undefined {
  if (!error) return undefined;
  // authorizationError is typed as Error but Node stores the verification code string there.
  if (typeof error === "string") return error;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : error.message;
}
