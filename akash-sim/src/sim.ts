import { createServer, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { pino, type Logger } from "pino";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { createChainRestHandler, type ChainFaults } from "./chain/chain-rest.ts";
import { closeServer, listen, trackSockets, urlHost } from "./net.ts";
import { parseSeed, type AkashSimSeed, type DeploymentSeed, type DeploymentStateName, type LeaseStateName, type WalletSeed } from "./seed.ts";
import { ChainState, type LeaseRef, type ProviderRecord } from "./state.ts";

export interface StartAkashSimOptions {
  seed: AkashSimSeed;
  /** Where replica sandboxes live; default a fresh temporary directory, removed on stop(). */
  sandboxRoot?: string;
  /** Also serve each provider gateway over plain HTTP (local runs). */
  providerHttp?: boolean;
  /** WebSocket ping interval of lease shells; default 10 000 ms as a real provider. */
  pingIntervalMs?: number;
  logger?: Logger;
  /** Listening address; default 127.0.0.1. */
  host?: string;
  /** Fixed chain REST port; default ephemeral. */
  chainPort?: number;
  /** Fixed port of the first provider (the next ones count up); default ephemeral. A seed `port` wins. */
  providerPort?: number;
}

export interface SimProvider {
  address: string;
  /** The gateway's HTTPS URL. */
  url: string;
  /** The gateway's plain HTTP URL, when providerHttp was asked for. */
  httpUrl?: string;
  /** What the chain publishes as host_uri. */
  hostUri: string;
}

export interface AkashSim {
  chainUrl: string;
  providers: SimProvider[];
  /** The live chain state (read it in tests; change it through the mutators). */
  readonly state: ChainState;
  addWallet(wallet: WalletSeed): string;
  addDeployment(deployment: DeploymentSeed): void;
  setDeploymentState(owner: string, dseq: string | number, state: DeploymentStateName): void;
  setLeaseState(lease: LeaseRef, state: LeaseStateName): void;
  /** Lease closed on chain, and the provider forgets its manifest (as a real provider tears the namespace down). */
  closeLease(lease: LeaseRef): void;
  /** Whether the provider holds the lease's manifest (false: "unknown lease" at the provider). */
  setManifest(lease: LeaseRef, present: boolean): void;
  setReadyReplicas(lease: LeaseRef, service: string, ready: number): void;
  /** Makes every chain query fail with a gRPC error, or delays them (null clears). */
  setChainFault(fault: ChainFaults | null): void;
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
  const servers: { server: Server; sockets: Set<Socket> }[] = [];
  const stopServers = () => Promise.all(servers.map(({ server, sockets }) => closeServer(server, sockets)));

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

    // Provider gateways (placeholder until the gateway lands: every path answers 404).
    const providers: SimProvider[] = [];
    for (const [index, provider] of seed.providers.entries()) {
      const identity = identities[index]!;
      const server = createServer((_request, response) => {
        response.writeHead(404).end();
      });
      const sockets = trackSockets(server);
      servers.push({ server, sockets });
      const wanted = provider.port ?? (options.providerPort ? options.providerPort + index : 0);
      const port = await listen(server, wanted, host);
      const url = `http://${urlHost(host)}:${port}`;
      providers.push({ address: identity.address, url, hostUri: provider.hostUri ?? url });
    }

    const records: ProviderRecord[] = seed.providers.map((provider, index) => ({
      address: identities[index]!.address,
      hostUri: providers[index]!.hostUri,
      attributes: provider.attributes,
      info: provider.info,
    }));
    const state = ChainState.fromSeed(
      seed,
      records.map((record, index) => ({ name: identities[index]!.name, record, publicKey: identities[index]!.publicKey })),
    );

    let chainFaults: ChainFaults = {};
    const chainServer = createServer(createChainRestHandler(state, () => chainFaults));
    const chainSockets = trackSockets(chainServer);
    servers.push({ server: chainServer, sockets: chainSockets });
    const chainPort = await listen(chainServer, options.chainPort ?? 0, host);
    const chainUrl = `http://${urlHost(host)}:${chainPort}`;
    logger.info({ chainUrl, providers: providers.map((p) => p.address) }, "akash-sim ready");

    let stopped: Promise<void> | undefined;
    return {
      chainUrl,
      providers,
      state,
      addWallet: (wallet) => state.addWallet(wallet),
      addDeployment: (deployment) => void state.addDeployment(deployment),
      setDeploymentState: (owner, dseq, value) => state.setDeploymentState(owner, dseq, value),
      setLeaseState: (lease, value) => state.setLeaseState(lease, value),
      closeLease: (lease) => state.closeLease(lease),
      setManifest: (lease, present) => state.setManifest(lease, present),
      setReadyReplicas: (lease, service, ready) => state.setReadyReplicas(lease, service, ready),
      setChainFault: (fault) => {
        chainFaults = fault ?? {};
      },
      stop: () => {
        stopped ??= stopServers().then(() => undefined);
        return stopped;
      },
    };
  } catch (error) {
    await stopServers();
    throw error;
  }
}
