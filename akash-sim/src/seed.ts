import { z } from "zod";
import { AKASH_ADDRESS_PATTERN } from "@shell-exec/shared/akash/wallet.ts";

/**
 * The seed: what the simulated chain holds at start (accounts, providers, deployments, leases, certificates) and what
 * each provider runs for each lease (its manifest: services and their replicas). Documented in akash-sim/README.md;
 * akash-sim/seed.example.json is a complete example.
 *
 * Wherever a seed names an account (a deployment's owner, a lease's provider, a certificate's owner) it may use the
 * account's `akash1…` address or the `name` given to a wallet or provider in the same seed.
 */

const akashAddress = z.string().regex(AKASH_ADDRESS_PATTERN, "an akash1… address");
const name = z.string().min(1).max(64);
/** A wallet/provider `name` from this seed or an `akash1…` address. */
const accountRef = z.string().min(1);
const uint64String = z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).transform(String);
const uint32 = z.number().int().min(0).max(0xffff_ffff);

export const deploymentStates = ["active", "closed"] as const;
export const leaseStates = ["active", "insufficient_funds", "closed", "reclaiming"] as const;
export const certificateStates = ["valid", "revoked"] as const;
export type DeploymentStateName = (typeof deploymentStates)[number];
export type LeaseStateName = (typeof leaseStates)[number];
export type CertificateStateName = (typeof certificateStates)[number];

const accountNumbers = {
  accountNumber: uint64String.optional(),
  sequence: uint64String.optional(),
};

export const walletSeedSchema = z.union([
  z.strictObject({
    name: name.optional(),
    /** A BIP39 mnemonic: the sim derives the key on m/44'/118'/0'/0/0, the address and the public key. */
    mnemonic: z.string().min(1),
    ...accountNumbers,
  }),
  z.strictObject({
    name: name.optional(),
    address: akashAddress,
    /**
     * The compressed secp256k1 public key (33 bytes) as hex or base64. Omitted: an account that has never signed a
     * transaction, so the chain publishes no key (`pub_key: null`) and JWTs from it cannot be verified.
     */
    publicKey: z.string().min(1).optional(),
    ...accountNumbers,
  }),
]);
export type WalletSeed = z.input<typeof walletSeedSchema>;

export const providerSeedSchema = z.strictObject({
  name: name.optional(),
  /** The provider's account: a mnemonic, or an address. Neither: the sim generates a fresh key. */
  mnemonic: z.string().min(1).optional(),
  address: akashAddress.optional(),
  /** Published as `host_uri`. Default: the URL the sim's gateway for this provider listens on (https). */
  hostUri: z.url({ protocol: /^https?$/ }).optional(),
  attributes: z.array(z.strictObject({ key: z.string(), value: z.string() })).default([]),
  info: z.strictObject({ email: z.string().default(""), website: z.string().default("") }).default({ email: "", website: "" }),
  /** The gateway's TLS certificate and key (PEM). Default: a fresh self-signed ECDSA P-256 certificate, CN = address. */
  tls: z.strictObject({ certPem: z.string().min(1), keyPem: z.string().min(1) }).optional(),
  /** Fixed listening ports; default ephemeral. */
  port: z.number().int().min(0).max(65535).optional(),
  httpPort: z.number().int().min(0).max(65535).optional(),
});
export type ProviderSeed = z.input<typeof providerSeedSchema>;

export const fastResponderSchema = z.strictObject({
  mode: z.literal("fast"),
  stdout: z.string().default(""),
  stderr: z.string().default(""),
  exitCode: z.number().int().min(0).max(255).default(0),
});
export type FastResponder = z.output<typeof fastResponderSchema>;

export const serviceSeedSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "an SDL service name (lowercase, digits, '-')"),
    replicas: z.number().int().min(0).max(64).default(1),
    /** How many replicas are ready; default all. Pods 0..ready-1 (sorted by name) are the ready ones. */
    readyReplicas: z.number().int().min(0).max(64).optional(),
    /** The container's environment (besides PATH/HOME/HOSTNAME, which the sim sets). */
    env: z.record(z.string(), z.string()).default({}),
    /** Files written into every replica's sandbox at start: container path (e.g. /etc/app.conf) → content. */
    files: z.record(z.string(), z.string()).default({}),
    /** The replica's main process, started at start-up in its sandbox (like a container's entrypoint). */
    entrypoint: z.array(z.string().min(1)).min(1).optional(),
    /** Answer every exec in-process without spawning anything (benchmarks). */
    responder: fastResponderSchema.optional(),
    /** Published in lease status `uris`. */
    uris: z.array(z.string()).optional(),
  })
  .refine((service) => service.readyReplicas === undefined || service.readyReplicas <= service.replicas, {
    message: "readyReplicas cannot exceed replicas",
  });
export type ServiceSeed = z.input<typeof serviceSeedSchema>;

export const leaseSeedSchema = z.strictObject({
  gseq: uint32.min(1).default(1),
  oseq: uint32.min(1).default(1),
  bseq: uint32.default(0),
  provider: accountRef,
  state: z.enum(leaseStates).default("active"),
  price: z.strictObject({ denom: z.string(), amount: z.string() }).default({ denom: "uakt", amount: "1.000000000000000000" }),
  /**
   * Whether the provider holds this lease's manifest (default true). false: the lease exists on chain but the
   * provider has never been sent a manifest, so lease status is 404 and a shell answers a bare `{"exit_code":0}`.
   */
  manifest: z.boolean().default(true),
  services: z.array(serviceSeedSchema).default([]),
});
export type LeaseSeed = z.input<typeof leaseSeedSchema>;

export const deploymentSeedSchema = z.strictObject({
  owner: accountRef,
  dseq: uint64String,
  state: z.enum(deploymentStates).default("active"),
  leases: z.array(leaseSeedSchema).default([]),
});
export type DeploymentSeed = z.input<typeof deploymentSeedSchema>;

export const certificateSeedSchema = z.strictObject({
  owner: accountRef,
  pem: z.string().includes("-----BEGIN CERTIFICATE-----"),
  state: z.enum(certificateStates).default("valid"),
  /** Default: the certificate's own serial number (decimal). */
  serial: z.string().regex(/^\d+$/).optional(),
});
export type CertificateSeed = z.input<typeof certificateSeedSchema>;

export const akashSimSeedSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Free text, ignored (the example seed documents itself here). */
  comment: z.union([z.string(), z.array(z.string())]).optional(),
  wallets: z.array(walletSeedSchema).default([]),
  providers: z.array(providerSeedSchema).default([]),
  deployments: z.array(deploymentSeedSchema).default([]),
  certificates: z.array(certificateSeedSchema).default([]),
  /** The chain's block height at start; `created_at`/`closed_on` are heights. */
  height: z.number().int().min(1).default(1_000_000),
});
export type AkashSimSeed = z.input<typeof akashSimSeedSchema>;
export type ParsedAkashSimSeed = z.output<typeof akashSimSeedSchema>;

export function parseSeed(seed: unknown): ParsedAkashSimSeed {
  const parsed = akashSimSeedSchema.safeParse(seed);
  if (!parsed.success) throw new Error(`invalid akash-sim seed: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
