import { createHash, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from "node:crypto";
import { isIP } from "node:net";

/**
 * Self-signed ECDSA P-256 certificates, shaped like the ones Akash tools publish on chain (chain-sdk
 * go/util/tls/key_pair_manager.go): serial = creation time in nanoseconds, subject CN = the akash1… address plus the
 * Akash auth-version attribute (OID 2.23.133.2.6 = "v0.0.1"), basicConstraints CA:FALSE, extended key usage
 * clientAuth (+ serverAuth and SANs for a server), signed with ecdsa-with-SHA256.
 *
 * Written with node:crypto and a small DER encoder rather than a library: Node can parse X.509 but not issue it, and
 * the candidates (@peculiar/x509 pulls in a WebCrypto polyfill stack and reflect-metadata, node-forge has no ECDSA,
 * `selfsigned` is RSA-first and forge-based, the openssl CLI means a child process per certificate and a host tool at
 * run time) all cost more than the ~150 lines below. Every certificate made here is parsed back with
 * `X509Certificate` and its signature checked before it is returned.
 *
 * Two deliberate differences from chain-sdk's generator:
 * - issuer = subject exactly (chain-sdk writes the issuer with the CN only). With identical names OpenSSL recognises
 *   the certificate as self-issued, so Node clients can pin it with `ca: certPem`; Go verifies either form.
 * - keyUsage adds digitalSignature to chain-sdk's keyEncipherment|dataEncipherment: OpenSSL will not sign a TLS 1.3
 *   handshake with an ECDSA certificate whose keyUsage lacks it (Go does not check).
 */

export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
  /** Decimal serial number (what the chain's cert module keys certificates by). */
  serial: string;
  /** SHA-256 fingerprint, colon-separated hex as Node prints it. */
  fingerprint256: string;
}

export type ExtendedKeyUsage = "serverAuth" | "clientAuth";

export interface SelfSignedCertificateOptions {
  commonName: string;
  /** Subject alternative names: DNS names and IP addresses (v4 or v6) mixed; each is sorted by its form. */
  altNames?: readonly string[];
  extKeyUsage: readonly ExtendedKeyUsage[];
  /** Default: one hour ago (clock skew). */
  notBefore?: Date;
  /** Default: notBefore + validDays. */
  notAfter?: Date;
  /** Default 365. */
  validDays?: number;
  /** Default: the current time in nanoseconds, as chain-sdk does. */
  serial?: bigint;
  /** An existing P-256 private key; default a fresh one. */
  privateKey?: KeyObject;
  /** Add the Akash auth-version attribute to the subject (default true). */
  akashAuthVersion?: boolean;
}

const OID = {
  commonName: "2.5.4.3",
  akashAuthVersion: "2.23.133.2.6",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

let lastSerial = 0n;

/** Nanoseconds since the epoch, strictly increasing within this process (two certificates never share a serial). */
function timeSerial(): bigint {
  const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  lastSerial = now > lastSerial ? now : lastSerial + 1n;
  return lastSerial;
}

export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): SelfSignedCertificate {
  const privateKey = options.privateKey ?? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const publicKey = createPublicKeyFrom(privateKey);
  const spki = publicKey.export({ type: "spki", format: "der" });
  const notBefore = options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.validDays ?? 365) * 24 * 60 * 60 * 1000);
  const serial = options.serial ?? timeSerial();
  if (serial <= 0n) throw new Error("a certificate serial must be positive");

  const rdns = [set(seq(oid(OID.commonName), utf8(options.commonName)))];
  if (options.akashAuthVersion ?? true) rdns.push(set(seq(oid(OID.akashAuthVersion), utf8("v0.0.1"))));
  const name = seq(...rdns);

  const extensions = [
    extension(OID.keyUsage, true, bitString(Buffer.from([0xb0]), 4)), // digitalSignature, keyEncipherment, dataEncipherment
    extension(OID.extKeyUsage, false, seq(...options.extKeyUsage.map((usage) => oid(OID[usage])))),
    extension(OID.basicConstraints, true, seq()),
    extension(OID.subjectKeyIdentifier, false, octetString(createHash("sha1").update(subjectPublicKeyBits(spki)).digest())),
  ];
  const altNames = options.altNames ?? [];
  if (altNames.length > 0) {
    extensions.push(extension(OID.subjectAltName, false, seq(...altNames.map((altName) => generalName(altName)))));
  }

  const signatureAlgorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    explicit(0, integer(2n)),
    integer(serial),
    signatureAlgorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign("sha256", tbs, privateKey); // DER-encoded ECDSA signature
  const der = seq(tbs, signatureAlgorithm, bitString(signature, 0));

  const certPem = toPem("CERTIFICATE", der);
  const certificate = new X509Certificate(certPem);
  if (!certificate.verify(publicKey)) throw new Error("self-signed certificate does not verify against its own key");
  return {
    certPem,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    serial: serial.toString(10),
    fingerprint256: certificate.fingerprint256,
  };
}

/**
 * A provider gateway's certificate: CN = the provider's address, valid for TLS server and client auth, with SANs for
 * the names it is reached by (default localhost, 127.0.0.1 and ::1).
 */
export function createServerCertificate(options: {
  commonName: string;
  altNames?: readonly string[];
  validDays?: number;
  notBefore?: Date;
  notAfter?: Date;
}): SelfSignedCertificate {
  return createSelfSignedCertificate({
    commonName: options.commonName,
    altNames: options.altNames ?? ["localhost", "127.0.0.1", "::1"],
    extKeyUsage: ["clientAuth", "serverAuth"],
    validDays: options.validDays,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
  });
}

/**
 * An mTLS client certificate for a wallet: CN = its akash1… address, clientAuth only, no SANs (what
 * `provider-services tx cert generate client` makes). Publish it on chain (cert module) before using it.
 */
export function createClientCertificate(options: {
  address: string;
  validDays?: number;
  notBefore?: Date;
  notAfter?: Date;
}): SelfSignedCertificate {
  return createSelfSignedCertificate({
    commonName: options.address,
    extKeyUsage: ["clientAuth"],
    validDays: options.validDays,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
  });
}

function createPublicKeyFrom(privateKey: KeyObject): KeyObject {
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ec") throw new Error("expected an EC private key");
  const details = privateKey.asymmetricKeyDetails;
  if (details?.namedCurve !== "prime256v1") throw new Error("expected a P-256 (prime256v1) key");
  // createPublicKey accepts a private KeyObject and derives its public half.
  return createPublicKey(privateKey);
}

// ---- DER ----

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function explicit(tagNumber: number, content: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, content);
}

function integer(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, "hex");
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map((part) => Number(part));
  const [first = 0, second = 0, ...rest] = parts;
  const bytes: number[] = [first * 40 + second];
  for (const part of rest) {
    const chunk: number[] = [part & 0x7f];
    for (let value = Math.floor(part / 128); value > 0; value = Math.floor(value / 128)) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utf8(text: string): Buffer {
  return tlv(0x0c, Buffer.from(text, "utf8"));
}

function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

function bitString(bytes: Buffer, unusedBits: number): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), "ascii")) : tlv(0x18, Buffer.from(digits, "ascii"));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), tlv(0x01, Buffer.from([0xff])), octetString(value)) : seq(oid(id), octetString(value));
}

function generalName(name: string): Buffer {
  const ipVersion = isIP(name);
  if (ipVersion === 4) return tlv(0x87, Buffer.from(name.split(".").map((part) => Number(part))));
  if (ipVersion === 6) return tlv(0x87, ipv6Bytes(name));
  return tlv(0x82, Buffer.from(name, "ascii")); // dNSName, IA5String
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const headParts = head ? head.split(":") : [];
  const tailParts = tail ? tail.split(":") : [];
  const missing = 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailParts];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2));
  return bytes;
}

/** The subjectPublicKey bits inside an SPKI (what a key identifier hashes). */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  // SPKI = SEQUENCE { AlgorithmIdentifier, BIT STRING }; for P-256 the BIT STRING is the last 66 bytes (tag, len,
  // unused-bits byte, 65-byte uncompressed point).
  return spki.subarray(spki.length - 65);
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
