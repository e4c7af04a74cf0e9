import { X509Certificate, randomBytes, createHash } from "node:crypto";
import { AkashWallet, AKASH_ADDRESS_PATTERN } from "@shell-exec/shared/akash/wallet.ts";
import {
  certificateSeedSchema, deploymentSeedSchema, walletSeedSchema, type CertificateSeed, type CertificateStateName,
  type DeploymentSeed, type DeploymentStateName, type FastResponder, type LeaseStateName, type ParsedAkashSimSeed,
  type WalletSeed,
} from "./seed.ts";

/**
 * The simulated chain's state and each provider's view of its leases (manifests, replicas). Plain data with
 * mutators; the chain REST server and the provider gateways read it on every request, so a change is visible at once.
 */

export interface AccountRecord {
  address: string;
  /** Compressed secp256k1 key, or null for an account that has never signed. */
  publicKey: Uint8Array | null;
  accountNumber: string;
  sequence: string;
}

export interface ProviderRecord {
  address: string;
  hostUri: string;
  attributes: { key: string; value: string }[];
  info: { email: string; website: string };
}

export interface DeploymentRecord {
  owner: string;
  dseq: string;
  state: DeploymentStateName;
  hash: string;
  createdAt: number;
}

export interface LeaseId {
  owner: string;
  dseq: string;
  gseq: number;
  oseq: number;
  provider: string;
  bseq: number;
}

/** How tests name a lease: dseq/gseq/oseq, plus owner and provider when that alone is ambiguous. */
export interface LeaseRef {
  dseq: string | number;
  gseq: number;
  oseq: number;
  owner?: string;
  provider?: string;
}

export interface ServiceRecord {
  name: string;
  replicas: number;
  readyReplicas: number;
  env: Record<string, string>;
  files: Record<string, string>;
  entrypoint: string[] | undefined;
  responder: FastResponder | undefined;
  uris: string[] | undefined;
}

export interface LeaseRecord {
  id: LeaseId;
  state: LeaseStateName;
  price: { denom: string; amount: string };
  createdAt: number;
  closedOn: number;
  /** The provider has this lease's manifest (it knows the services). */
  manifest: boolean;
  services: Map<string, ServiceRecord>;
}

export interface CertificateRecord {
  owner: string;
  serial: string;
  state: CertificateStateName;
  pem: string;
  /** PEM of the certificate's public key, as the cert module stores it. */
  pubkeyPem: string;
}

export type LeaseListener = (event: { kind: "added" | "changed"; lease: LeaseRecord }) => void;

export class ChainState {
  height: number;
  readonly accounts = new Map<string, AccountRecord>();
  readonly providers = new Map<string, ProviderRecord>();
  readonly deployments = new Map<string, DeploymentRecord>();
  /** Sorted by (owner, dseq, gseq, oseq, provider), the chain's primary key order. */
  readonly leases: LeaseRecord[] = [];
  readonly certificates: CertificateRecord[] = [];
  /** Seed names → addresses. */
  readonly names = new Map<string, string>();
  readonly #listeners = new Set<LeaseListener>();
  #nextAccountNumber = 1;

  constructor(height: number) {
    this.height = height;
  }

  /** Each mutation advances the simulated block height by one, so created_at/closed_on stay ordered. */
  #tick(): number {
    this.height += 1;
    return this.height;
  }

  onLeaseChange(listener: LeaseListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(kind: "added" | "changed", lease: LeaseRecord): void {
    for (const listener of this.#listeners) listener({ kind, lease });
  }

  resolve(ref: string): string {
    if (AKASH_ADDRESS_PATTERN.test(ref)) return ref;
    const address = this.names.get(ref);
    if (!address) throw new Error(`the seed names no wallet or provider "${ref}"`);
    return address;
  }

  addName(name: string | undefined, address: string): void {
    if (name === undefined) return;
    const existing = this.names.get(name);
    if (existing !== undefined && existing !== address) throw new Error(`the name "${name}" is used twice in the seed`);
    this.names.set(name, address);
  }

  /** Adds (or replaces) an account; returns its address. */
  addWallet(seed: WalletSeed): string {
    const wallet = walletSeedSchema.parse(seed);
    let address: string;
    let publicKey: Uint8Array | null;
    if ("mnemonic" in wallet) {
      const derived = AkashWallet.fromMnemonic(wallet.mnemonic);
      address = derived.address;
      publicKey = derived.publicKey;
    } else {
      address = wallet.address;
      publicKey = wallet.publicKey === undefined ? null : decodePublicKey(wallet.publicKey);
    }
    this.addAccount({ address, publicKey, accountNumber: wallet.accountNumber, sequence: wallet.sequence });
    this.addName(wallet.name, address);
    return address;
  }

  addAccount(account: { address: string; publicKey: Uint8Array | null; accountNumber?: string; sequence?: string }): void {
    const existing = this.accounts.get(account.address);
    this.accounts.set(account.address, {
      address: account.address,
      publicKey: account.publicKey,
      accountNumber: account.accountNumber ?? existing?.accountNumber ?? String(this.#nextAccountNumber++),
      sequence: account.sequence ?? existing?.sequence ?? (account.publicKey ? "1" : "0"),
    });
  }

  addProvider(provider: ProviderRecord): void {
    this.providers.set(provider.address, provider);
  }

  addCertificate(seed: CertificateSeed): CertificateRecord {
    const parsed = certificateSeedSchema.parse(seed);
    const x509 = new X509Certificate(parsed.pem);
    const record: CertificateRecord = {
      owner: this.resolve(parsed.owner),
      serial: parsed.serial ?? BigInt(`0x${x509.serialNumber}`).toString(10),
      state: parsed.state,
      pem: normalizePem(parsed.pem),
      pubkeyPem: x509.publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
    const index = this.certificates.findIndex((c) => c.owner === record.owner && c.serial === record.serial);
    if (index >= 0) this.certificates[index] = record;
    else this.certificates.push(record);
    return record;
  }

  setCertificateState(owner: string, serial: string, state: CertificateStateName): void {
    const certificate = this.certificates.find((c) => c.owner === this.resolve(owner) && c.serial === serial);
    if (!certificate) throw new Error(`no certificate ${owner}/${serial}`);
    certificate.state = state;
  }

  addDeployment(seed: DeploymentSeed): DeploymentRecord {
    const parsed = deploymentSeedSchema.parse(seed);
    const owner = this.resolve(parsed.owner);
    if (!this.accounts.has(owner)) this.addAccount({ address: owner, publicKey: null });
    const createdAt = this.#tick();
    const deployment: DeploymentRecord = {
      owner,
      dseq: parsed.dseq,
      state: parsed.state,
      hash: createHash("sha256").update(`${owner}/${parsed.dseq}/${randomBytes(8).toString("hex")}`).digest("base64"),
      createdAt,
    };
    this.deployments.set(deploymentKey(owner, parsed.dseq), deployment);
    for (const lease of parsed.leases) {
      const provider = this.resolve(lease.provider);
      const id: LeaseId = { owner, dseq: parsed.dseq, gseq: lease.gseq, oseq: lease.oseq, provider, bseq: lease.bseq };
      const services = new Map<string, ServiceRecord>();
      for (const service of lease.services) {
        if (services.has(service.name)) throw new Error(`service "${service.name}" appears twice in lease ${leaseIdString(id)}`);
        services.set(service.name, {
          name: service.name,
          replicas: service.replicas,
          readyReplicas: service.readyReplicas ?? service.replicas,
          env: service.env,
          files: service.files,
          entrypoint: service.entrypoint,
          responder: service.responder,
          uris: service.uris,
        });
      }
      const record: LeaseRecord = {
        id,
        state: lease.state,
        price: lease.price,
        createdAt,
        closedOn: lease.state === "closed" ? createdAt : 0,
        manifest: lease.manifest,
        services,
      };
      const existing = this.leases.findIndex((l) => compareLeaseIds(l.id, id) === 0);
      if (existing >= 0) this.leases.splice(existing, 1);
      const at = this.leases.findIndex((l) => compareLeaseIds(l.id, id) > 0);
      this.leases.splice(at < 0 ? this.leases.length : at, 0, record);
      this.#emit("added", record);
    }
    return deployment;
  }

  getDeployment(owner: string, dseq: string): DeploymentRecord | undefined {
    return this.deployments.get(deploymentKey(owner, dseq));
  }

  setDeploymentState(owner: string, dseq: string | number, state: DeploymentStateName): void {
    const deployment = this.getDeployment(this.resolve(owner), String(dseq));
    if (!deployment) throw new Error(`no deployment ${owner}/${dseq}`);
    deployment.state = state;
    this.#tick();
  }

  findLease(ref: LeaseRef): LeaseRecord {
    const owner = ref.owner === undefined ? undefined : this.resolve(ref.owner);
    const provider = ref.provider === undefined ? undefined : this.resolve(ref.provider);
    const matches = this.leases.filter(
      (l) =>
        l.id.dseq === String(ref.dseq) && l.id.gseq === ref.gseq && l.id.oseq === ref.oseq &&
        (owner === undefined || l.id.owner === owner) && (provider === undefined || l.id.provider === provider),
    );
    const [first] = matches;
    if (!first) throw new Error(`no lease ${ref.dseq}/${ref.gseq}/${ref.oseq}`);
    if (matches.length > 1) throw new Error(`lease ${ref.dseq}/${ref.gseq}/${ref.oseq} is ambiguous: give owner and provider`);
    return first;
  }

  /** The lease a provider serves for `owner` at dseq/gseq/oseq, whatever its chain state. */
  providerLease(provider: string, owner: string, dseq: string, gseq: number, oseq: number): LeaseRecord | undefined {
    return this.leases.find(
      (l) => l.id.provider === provider && l.id.owner === owner && l.id.dseq === dseq && l.id.gseq === gseq && l.id.oseq === oseq,
    );
  }

  setLeaseState(ref: LeaseRef, state: LeaseStateName): void {
    const lease = this.findLease(ref);
    lease.state = state;
    const height = this.#tick();
    if (state === "closed") lease.closedOn = height;
    this.#emit("changed", lease);
  }

  /** Closing a lease also makes the provider forget it (it tears the namespace down): no manifest any more. */
  closeLease(ref: LeaseRef): void {
    const lease = this.findLease(ref);
    lease.manifest = false;
    this.setLeaseState(ref, "closed");
  }

  setManifest(ref: LeaseRef, present: boolean): void {
    const lease = this.findLease(ref);
    lease.manifest = present;
    this.#emit("changed", lease);
  }

  service(ref: LeaseRef, service: string): ServiceRecord {
    const record = this.findLease(ref).services.get(service);
    if (!record) throw new Error(`lease ${ref.dseq}/${ref.gseq}/${ref.oseq} has no service "${service}"`);
    return record;
  }

  setReadyReplicas(ref: LeaseRef, service: string, ready: number): void {
    const record = this.service(ref, service);
    if (!Number.isInteger(ready) || ready < 0 || ready > record.replicas) {
      throw new Error(`ready replicas must be 0..${record.replicas}`);
    }
    record.readyReplicas = ready;
    this.#emit("changed", this.findLease(ref));
  }

  static fromSeed(seed: ParsedAkashSimSeed, providers: { name?: string; record: ProviderRecord; publicKey: Uint8Array | null }[]): ChainState {
    const state = new ChainState(seed.height);
    for (const wallet of seed.wallets) state.addWallet(wallet);
    for (const provider of providers) {
      state.addProvider(provider.record);
      if (!state.accounts.has(provider.record.address)) {
        state.addAccount({ address: provider.record.address, publicKey: provider.publicKey });
      }
      state.addName(provider.name, provider.record.address);
    }
    for (const deployment of seed.deployments) state.addDeployment(deployment);
    for (const certificate of seed.certificates) state.addCertificate(certificate);
    return state;
  }
}

export function deploymentKey(owner: string, dseq: string): string {
  return `${owner}/${dseq}`;
}

export function leaseIdString(id: Pick<LeaseId, "dseq" | "gseq" | "oseq">): string {
  return `${id.dseq}/${id.gseq}/${id.oseq}`;
}

function compareLeaseIds(a: LeaseId, b: LeaseId): number {
  if (a.owner !== b.owner) return a.owner < b.owner ? -1 : 1;
  const dseq = BigInt(a.dseq) - BigInt(b.dseq);
  if (dseq !== 0n) return dseq < 0n ? -1 : 1;
  if (a.gseq !== b.gseq) return a.gseq - b.gseq;
  if (a.oseq !== b.oseq) return a.oseq - b.oseq;
  if (a.provider !== b.provider) return a.provider < b.provider ? -1 : 1;
  return a.bseq - b.bseq;
}

function decodePublicKey(text: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{66}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (bytes.length !== 33 || (bytes[0] !== 2 && bytes[0] !== 3)) {
    throw new Error("a wallet publicKey is a 33-byte compressed secp256k1 key, as hex or base64");
  }
  return new Uint8Array(bytes);
}

function normalizePem(pem: string): string {
  const trimmed = pem.trim();
  return `${trimmed}\n`;
}
