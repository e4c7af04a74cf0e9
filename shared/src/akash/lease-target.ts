import {
  ChainUnavailableError,
  DeploymentNotActiveError,
  DeploymentNotFoundError,
  LeaseNotActiveError,
  LeaseNotFoundError,
} from "../errors.ts";
import type { ChainLease, ChainRestClient } from "./chain-client.ts";
import { TtlCache } from "./ttl-cache.ts";

/** Where a command for one lease goes: the lease's id and its provider's gateway. */
export interface LeaseTarget {
  owner: string;
  dseq: string;
  gseq: number;
  oseq: number;
  provider: string;
  hostUri: string;
}

export interface LeaseTargetInput {
  /** Always the caller's own wallet address, never a value from a request. */
  owner: string;
  dseq: string;
  gseq: number;
  oseq: number;
}

/**
 * What the chain said, as data: a cached "no" is rebuilt into a fresh error for each caller rather than one shared
 * error object being thrown again and again.
 */
export type LeaseResolution =
  | { kind: "found"; target: LeaseTarget }
  | { kind: "deployment_not_found" }
  | { kind: "deployment_not_active"; state: string }
  | { kind: "lease_not_found" }
  | { kind: "lease_not_active"; state: string };

export type LeaseTargetCache = TtlCache<LeaseResolution>;

export interface LeaseTargetCacheTtl {
  /** How long a resolved target is reused. */
  foundMs: number;
  /** How long a "not found"/"not active" answer is reused: short, so a lease that just appeared is soon seen. */
  notFoundMs: number;
}

export const DEFAULT_LEASE_TARGET_TTL: LeaseTargetCacheTtl = { foundMs: 10_000, notFoundMs: 2_000 };

export function createLeaseTargetCache(options: { maxEntries?: number; now?: () => number } = {}): LeaseTargetCache {
  return new TtlCache<LeaseResolution>({ maxEntries: options.maxEntries ?? 10_000, now: options.now });
}

export interface LeaseTargetDeps {
  chain: ChainRestClient;
  /** Without one, every call asks the chain. */
  cache?: LeaseTargetCache;
  ttl?: LeaseTargetCacheTtl;
}

/**
 * The provider and gateway of lease owner/dseq/gseq/oseq, checked active on chain.
 * Throws DeploymentNotFoundError, DeploymentNotActiveError, LeaseNotFoundError, LeaseNotActiveError, or
 * ChainUnavailableError (chain unreachable or unusable, or the lease's provider is not registered). Concurrent calls for
 * one lease share one set of chain queries; chain failures are never cached.
 */
export async function resolveLeaseTarget(deps: LeaseTargetDeps, input: LeaseTargetInput): Promise<LeaseTarget> {
  const ttl = deps.ttl ?? DEFAULT_LEASE_TARGET_TTL;
  const resolution = deps.cache
    ? await deps.cache.getOrLoad(leaseTargetCacheKey(input), async () => {
        const value = await queryLeaseResolution(deps.chain, input);
        return { value, ttlMs: value.kind === "found" ? ttl.foundMs : ttl.notFoundMs };
      })
    : await queryLeaseResolution(deps.chain, input);
  return targetOrThrow(resolution, input);
}

/** Drops what the cache knows of this lease, e.g. after the provider said it is gone. */
export function forgetLeaseTarget(cache: LeaseTargetCache, input: LeaseTargetInput): void {
  cache.delete(leaseTargetCacheKey(input));
}

export function leaseTargetCacheKey(input: LeaseTargetInput): string {
  return `${input.owner}/${input.dseq}/${input.gseq}/${input.oseq}`;
}

async function queryLeaseResolution(chain: ChainRestClient, input: LeaseTargetInput): Promise<LeaseResolution> {
  const { owner, dseq, gseq, oseq } = input;
  // Independent queries: asked together, the answer takes one round trip less.
  const [deployment, leases] = await Promise.all([
    chain.getDeployment(owner, dseq),
    chain.listLeases({ owner, dseq, gseq, oseq }),
  ]);
  if (deployment === null) return { kind: "deployment_not_found" };
  if (deployment.state !== "active") return { kind: "deployment_not_active", state: deployment.state };

  const lease = pickLease(leases, input);
  if (!lease) return { kind: "lease_not_found" };
  if (lease.state !== "active") return { kind: "lease_not_active", state: lease.state };

  const provider = await chain.getProvider(lease.provider);
  if (provider === null) {
    throw new ChainUnavailableError(
      `Lease ${dseq}/${gseq}/${oseq} is active with provider ${lease.provider}, which is not registered on chain.`,
    );
  }
  return { kind: "found", target: { owner, dseq, gseq, oseq, provider: lease.provider, hostUri: provider.hostUri } };
}

/**
 * The lease with exactly these ids (the chain's filters are not trusted to have been applied). A gseq/oseq pair names
 * one order, so there is normally one; should there be several (bids re-matched), an active one wins.
 */
function pickLease(leases: readonly ChainLease[], input: LeaseTargetInput): ChainLease | undefined {
  const matching = leases.filter(
    (lease) =>
      lease.owner === input.owner && lease.dseq === input.dseq && lease.gseq === input.gseq && lease.oseq === input.oseq,
  );
  return matching.find((lease) => lease.state === "active") ?? matching[0];
}

function targetOrThrow(resolution: LeaseResolution, input: LeaseTargetInput): LeaseTarget {
  const ids = { dseq: input.dseq, gseq: input.gseq, oseq: input.oseq };
  switch (resolution.kind) {
    case "found":
      return { ...resolution.target };
    case "deployment_not_found":
      throw new DeploymentNotFoundError(input.dseq);
    case "deployment_not_active":
      throw new DeploymentNotActiveError(input.dseq, resolution.state);
    case "lease_not_found":
      throw new LeaseNotFoundError(ids);
    case "lease_not_active":
      throw new LeaseNotActiveError(ids, resolution.state);
  }
}

/**
 * Resolves many leases of one owner at once (a batch): one paginated listing of the owner's active leases and one
 * provider query per distinct provider; only targets not found active there are resolved one by one, for the exact
 * reason (not found, not active). Each entry is the target, or the typed error a single submit would have thrown.
 */
export async function resolveLeaseTargets(
  deps: LeaseTargetDeps,
  owner: string,
  inputs: readonly Omit<LeaseTargetInput, "owner">[],
): Promise<Map<string, LeaseTarget | Error>> {
  const out = new Map<string, LeaseTarget | Error>();
  const key = (i: { dseq: string; gseq: number; oseq: number }) => `${i.dseq}/${i.gseq}/${i.oseq}`;
  const active = new Map<string, ChainLease>();
  for (const lease of await deps.chain.listActiveLeasesOfOwner(owner)) {
    if (lease.owner === owner && lease.state === "active") active.set(key(lease), lease);
  }
  const providers = new Map<string, Promise<string | null>>();
  const hostUri = (address: string) => {
    let found = providers.get(address);
    if (!found) {
      found = deps.chain.getProvider(address).then((p) => p?.hostUri ?? null);
      providers.set(address, found);
    }
    return found;
  };
  const misses: Omit<LeaseTargetInput, "owner">[] = [];
  for (const input of inputs) {
    const lease = active.get(key(input));
    if (!lease) {
      misses.push(input);
      continue;
    }
    const uri = await hostUri(lease.provider);
    if (uri === null) {
      out.set(key(input), new ChainUnavailableError(`Lease ${key(input)} is active with provider ${lease.provider}, which is not registered on chain.`));
    } else {
      out.set(key(input), { owner, dseq: input.dseq, gseq: input.gseq, oseq: input.oseq, provider: lease.provider, hostUri: uri });
    }
  }
  const queue = [...misses];
  const worker = async () => {
    for (let input = queue.shift(); input; input = queue.shift()) {
      try {
        out.set(key(input), await resolveLeaseTarget(deps, { ...input, owner }));
      } catch (error) {
        out.set(key(input), error instanceof Error ? error : new Error(String(error)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
  return out;
}
