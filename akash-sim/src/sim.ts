import { createServer, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { createServerCertificate } from "@shell-exec/shared/tls/self-signed.ts";
import { createChainRestHandler, type ChainFaults } from "./chain/chain-rest.ts";
import { probeMountIsolation, ReplicaRuntime, type EntrypointState, type ReplicaContext, type ReplicaRef } from "./exec/replicas.ts";
import { closeServer, listen, trackSockets, urlHost } from "./net.ts";
import type { Fault, FaultTarget } from "./provider/faults.ts";
import { ProviderGateway } from "./provider/gateway.ts";
import type { ShellStats } from "./provider/lease-shell.ts";
import {
  parseSeed, type AkashSimSeed, type CertificateSeed, type CertificateStateName, type DeploymentSeed,
  type DeploymentStateName, type LeaseStateName, type WalletSeed,
} from "./seed.ts";
import { ChainState, type LeaseRecord, type LeaseRef, type ProviderRecord } from "./state.ts";

export interface StartAkashSimOptions {
  seed: AkashSimSeed;
  /** Where replica sandboxes live; default a fresh temporary directory, removed on stop(). */
  sandboxRoot?: string;
  /** Also serve each provider gateway over plain HTTP (local runs). */
  providerHttp?: boolean;
  /** What the chain publishes as a provider's host_uri when the seed gives none: its https (default) or http URL. */
  publishHostUri?: "https" | "http";
  /** WebSocket ping interval of lease shells; default 10 000 ms as a real provider. */
  pingIntervalMs?: number;
  logger?: Logger;
  /** Listening address; default 127.0.0.1. */
  host?: string;
  /** Fixed chain REST port; default ephemeral. */
  chainPort?: number;
  /** Fixed HTTPS port of the first provider (the next ones count up); default ephemeral. A seed `port` wins. */
  providerPort?: number;
  /** Fixed plain-HTTP port of the first provider (with providerHttp); default ephemeral. */
  providerHttpPort?: number;
  /** Container paths bound to the same path inside each replica's sandbox; default ["/run/secrets"]. */
  containerPaths?: string[];
  /** Set false to never use mount namespaces, even where they work. */
  isolatePaths?: boolean;
  /**
   * Also hold tokens to chain-sdk's published JWT schema (no extra claims, etc.), which real providers do not
   * enforce; default true, so a worker that passes here cannot rely on leniency.
   */
  strictJwtSchema?: boolean;
}

export interface SimProvider {
  address: string;
  /** The gateway's HTTPS URL. */
  url: string;
  /** The gateway's plain HTTP URL, when providerHttp was asked for. */
  httpUrl?: string;
  /** What the chain publishes as host_uri. */
  hostUri: string;
  /** The gateway's self-signed certificate, also published on chain under the provider's address. */
  certificatePem: string;
}

export interface AkashSim {
  chainUrl: string;
  providers: SimProvider[];
  /** Whether container paths (e.g. /run/secrets) resolve inside each replica's sandbox (mount namespaces). */
  pathsIsolated: boolean;
  /** Root of all replica sandboxes. */
  sandboxRoot: string;
  /** The live chain state (read it in tests; change it through the mutators). */
  readonly state: ChainState;
  addWallet(wallet: WalletSeed): string;
  addDeployment(deployment: DeploymentSeed): void;
  addCertificate(certificate: CertificateSeed): void;
  setCertificateState(owner: string, serial: string, state: CertificateStateName): void;
  setDeploymentState(owner: string, dseq: string | number, state: DeploymentStateName): void;
  setLeaseState(lease: LeaseRef, state: LeaseStateName): void;
  /** Lease closed on chain, and the provider forgets its manifest (as a real provider tears the namespace down). */
  closeLease(lease: LeaseRef): void;
  /** Whether the provider holds the lease's manifest (false: "unknown lease" at the provider). */
  setManifest(lease: LeaseRef, present: boolean): void;
  setReadyReplicas(lease: LeaseRef, service: string, ready: number): void;
  /** Makes every chain query fail with a gRPC error, or delays them (null clears). */
  setChainFault(fault: ChainFaults | null): void;
  /** Switches a fault on (or off with null) for a provider or a lease. */
  setFault(target: FaultTarget, fault: Fault | null): Promise<void>;
  /** The replica's sandbox directory (its container filesystem). */
  sandboxDir(replica: ReplicaRef): string;
  /** PIDs of live processes started by execs in the replica, descendants included wherever they went. */
  listReplicaProcesses(replica: ReplicaRef, options?: { includeEntrypoint?: boolean }): Promise<number[]>;
  /** The replica's entrypoint process (seed `entrypoint`), if it has one. */
  entrypoint(replica: ReplicaRef): EntrypointState | undefined;
  /** Lease-shell counters, e.g. the most bytes ever buffered for one client (backpressure). */
  stats(): ShellStats;
  stop(): Promise<void>;
}

interface ProviderIdentity {
  name: string | undefined;
  address: string;
  publicKey: Uint8Array | null;
}

export async function startAkashSim(options: StartAkashSimOptions): Promise<AkashSim> {
  const seed = parseSeed(options.seed);
  const logger = options.logger ?? pino({ level: "silent" });
  const host = options.host ?? "127.0.0.1";
  const instanceId = randomBytes(6).toString("hex");
  const ownsSandboxRoot = options.sandboxRoot === undefined;
  const sandboxRoot = options.sandboxRoot ?? mkdtempSync(join(tmpdir(), "akash-sim-"));
  const runtime = new ReplicaRuntime({
    instanceId,
    root: sandboxRoot,
    isolate: options.isolatePaths !== false && probeMountIsolation(),
    containerPaths: options.containerPaths ?? ["/run/secrets"],
    logger,
  });
  const stats: ShellStats = { maxBufferedBytes: 0, sessions: 0 };
  const gateways: ProviderGateway[] = [];
  const chain: { server: Server; sockets: Set<Socket> }[] = [];
  const providerFaults = new Map<string, Fault>();
  const leaseFaults = new Map<string, Fault>();
  // Should the host process exit without stop() (a crash, process.exit), the replicas' processes must not outlive it.
  const killOnExit = () => runtime.killTagged();
  process.on("exit", killOnExit);
  const stopAll = async () => {
    runtime.killTagged();
    await Promise.all([...gateways.map((g) => g.close()), ...chain.map(({ server, sockets }) => closeServer(server, sockets))]);
    await runtime.killAll();
    process.off("exit", killOnExit);
    if (ownsSandboxRoot) rmSync(sandboxRoot, { recursive: true, force: true });
  };

  try {
    const identities: ProviderIdentity[] = seed.providers.map((provider) => {
      if (provider.mnemonic !== undefined) {
        const wallet = AkashWallet.fromMnemonic(provider.mnemonic);
        if (provider.address !== undefined && provider.address !== wallet.address) {
          throw new Error(`provider ${provider.address}: the mnemonic derives ${wallet.address}`);
        }
        return { name: provider.name, address: wallet.address, publicKey: wallet.publicKey };
      }
      if (provider.address !== undefined) return { name: provider.name, address: provider.address, publicKey: null };
      const wallet = AkashWallet.fromPrivateKeyHex(randomBytes(32).toString("hex"));
      return { name: provider.name, address: wallet.address, publicKey: wallet.publicKey };
    });

    // The state exists before the gateways listen; host_uri is filled in once their ports are known.
    const records: ProviderRecord[] = seed.providers.map((provider, index) => ({
      address: identities[index]!.address,
      hostUri: provider.hostUri ?? "",
      attributes: provider.attributes,
      info: provider.info,
    }));
    const state = ChainState.fromSeed(
      seed,
      records.map((record, index) => ({ name: identities[index]!.name, record, publicKey: identities[index]!.publicKey })),
    );

    const providers: SimProvider[] = [];
    for (const [index, provider] of seed.providers.entries()) {
      const { address } = identities[index]!;
      const tls = provider.tls ?? createServerCertificate({ commonName: address, altNames: ["localhost", host, "127.0.0.1", "::1"].filter(unique) });
      state.addCertificate({ owner: address, pem: tls.certPem });
      const gateway = new ProviderGateway({
        address,
        state,
        runtime,
        tls,
        pingIntervalMs: options.pingIntervalMs ?? 10_000,
        strictJwtSchema: options.strictJwtSchema ?? true,
        stats,
        logger: logger.child({ provider: address }),
        faultFor: (lease) => (lease ? leaseFaults.get(leaseFaultKey(lease)) : undefined) ?? providerFaults.get(address),
      });
      gateways.push(gateway);
      const { url, httpUrl } = await gateway.listen({
        host,
        port: provider.port ?? (options.providerPort ? options.providerPort + index : 0),
        httpPort: options.providerHttp
          ? (provider.httpPort ?? (options.providerHttpPort ? options.providerHttpPort + index : 0))
          : undefined,
      });
      const hostUri = provider.hostUri ?? (options.publishHostUri === "http" && httpUrl ? httpUrl : url);
      records[index]!.hostUri = hostUri;
      providers.push({ address, url, ...(httpUrl ? { httpUrl } : {}), hostUri, certificatePem: tls.certPem });
    }

    // Entrypoints: every replica of every service that declares one, now and for leases added later.
    const startEntrypoints = (lease: LeaseRecord) => {
      if (!lease.manifest) return;
      for (const service of lease.services.values()) {
        if (!service.entrypoint) continue;
        for (let podIndex = 0; podIndex < service.replicas; podIndex++) runtime.startEntrypoint({ lease, service, podIndex });
      }
    };
    for (const lease of state.leases) startEntrypoints(lease);
    state.onLeaseChange(({ lease }) => startEntrypoints(lease));

    let chainFaults: ChainFaults = {};
    const chainServer = createServer(createChainRestHandler(state, () => chainFaults));
    chain.push({ server: chainServer, sockets: trackSockets(chainServer) });
    const chainUrl = `http://${urlHost(host)}:${await listen(chainServer, options.chainPort ?? 0, host)}`;
    logger.info({ chainUrl, providers: providers.map((p) => p.address), pathsIsolated: runtime.pathsIsolated }, "akash-sim ready");

    const replicaContext = (ref: ReplicaRef): ReplicaContext => {
      const lease = state.findLease({ dseq: ref.dseq, gseq: ref.gseq, oseq: ref.oseq, owner: ref.owner });
      const service = lease.services.get(ref.service);
      if (!service) throw new Error(`lease ${ref.dseq}/${ref.gseq}/${ref.oseq} has no service "${ref.service}"`);
      return { lease, service, podIndex: ref.podIndex };
    };

    let stopped: Promise<void> | undefined;
    return {
      chainUrl,
      providers,
      pathsIsolated: runtime.pathsIsolated,
      sandboxRoot,
      state,
      addWallet: (wallet) => state.addWallet(wallet),
      addDeployment: (deployment) => void state.addDeployment(deployment),
      addCertificate: (certificate) => void state.addCertificate(certificate),
      setCertificateState: (owner, serial, value) => state.setCertificateState(owner, serial, value),
      setDeploymentState: (owner, dseq, value) => state.setDeploymentState(owner, dseq, value),
      setLeaseState: (lease, value) => state.setLeaseState(lease, value),
      closeLease: (lease) => state.closeLease(lease),
      setManifest: (lease, present) => state.setManifest(lease, present),
      setReadyReplicas: (lease, service, ready) => state.setReadyReplicas(lease, service, ready),
      setChainFault: (fault) => {
        chainFaults = fault ?? {};
      },
      setFault: async (target, fault) => {
        if ("provider" in target) {
          const address = state.resolve(target.provider);
          const index = providers.findIndex((p) => p.address === address);
          if (index < 0) throw new Error(`no provider ${target.provider}`);
          if (fault) providerFaults.set(address, fault);
          else providerFaults.delete(address);
          await gateways[index]!.setRefusing(fault?.kind === "refuse");
          return;
        }
        if (fault?.kind === "refuse") throw new Error("refuse is a provider-wide fault (a TCP connection names no lease)");
        const key = leaseFaultKey({ dseq: String(target.dseq), gseq: String(target.gseq), oseq: String(target.oseq) });
        if (fault) leaseFaults.set(key, fault);
        else leaseFaults.delete(key);
      },
      sandboxDir: (replica) => runtime.prepare(replicaContext(replica)),
      listReplicaProcesses: (replica, listOptions) => Promise.resolve(runtime.listProcesses(replicaContext(replica), listOptions)),
      entrypoint: (replica) => runtime.entrypoint(replicaContext(replica)),
      stats: () => ({ ...stats }),
      stop: () => {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** dseq/gseq/oseq as numbers, so "0042" in a request path names the same lease as 42. */
function leaseFaultKey(lease: { dseq: string; gseq: string; oseq: string }): string {
  const normal = (text: string) => (/^\d+$/.test(text) ? BigInt(text).toString() : text);
  return `${normal(lease.dseq)}/${normal(lease.gseq)}/${normal(lease.oseq)}`;
}

function unique(value: string, index: number, all: string[]): boolean {
  return all.indexOf(value) === index;
}
