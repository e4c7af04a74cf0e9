import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAkashSim, type AkashSim } from "../../../akash-sim/src/index.ts";
import {
  ChainUnavailableError,
  DeploymentNotActiveError,
  DeploymentNotFoundError,
  LeaseNotActiveError,
  LeaseNotFoundError,
} from "../errors.ts";
import { ChainRestClient } from "./chain-client.ts";
import {
  createLeaseTargetCache,
  forgetLeaseTarget,
  resolveLeaseTarget,
  type LeaseTargetInput,
} from "./lease-target.ts";
import { AkashWallet } from "./wallet.ts";

/** Lease resolution against akash-sim's chain REST, over real HTTP. */

const owner = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic()).address;
const stranger = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic()).address;
const unregisteredProvider = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic()).address;

let sim: AkashSim;

function lease(dseq: string, gseq = 1, oseq = 1): LeaseTargetInput {
  return { owner, dseq, gseq, oseq };
}

/** A client whose real fetch counts the chain requests it makes. */
function countingChain(): { chain: ChainRestClient; requests: () => number } {
  let count = 0;
  const chain = new ChainRestClient({
    baseUrl: sim.chainUrl,
    fetch: (input, init) => {
      count++;
      return globalThis.fetch(input, init);
    },
  });
  return { chain, requests: () => count };
}

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => (time += ms) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  sim = await startAkashSim({
    seed: {
      providers: [{ name: "p1" }],
      deployments: [
        {
          owner,
          dseq: "100",
          leases: [
            { gseq: 1, oseq: 1, provider: "p1" },
            { gseq: 1, oseq: 2, provider: "p1", state: "closed" },
            { gseq: 2, oseq: 1, provider: "p1", state: "insufficient_funds" },
          ],
        },
        { owner, dseq: "101", state: "closed", leases: [{ provider: "p1", state: "closed" }] },
        { owner, dseq: "102", leases: [{ provider: unregisteredProvider }] },
        { owner, dseq: "103", leases: [{ provider: "p1" }] },
        { owner, dseq: "104", leases: [{ provider: "p1" }] },
        { owner: stranger, dseq: "200", leases: [{ provider: "p1" }] },
      ],
    },
  });
});

afterAll(async () => {
  await sim.stop();
});

afterEach(() => {
  sim.setChainFault(null);
});

describe("resolveLeaseTarget", () => {
  it("resolves an active lease to its provider and host_uri", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    const provider = sim.providers[0]!;
    expect(await resolveLeaseTarget({ chain }, lease("100"))).toEqual({
      owner,
      dseq: "100",
      gseq: 1,
      oseq: 1,
      provider: provider.address,
      hostUri: provider.hostUri,
    });
  });

  it("throws DeploymentNotFoundError for an unknown dseq and for another owner's dseq", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    for (const dseq of ["999", "200"]) {
      const error = await rejection(resolveLeaseTarget({ chain }, lease(dseq)));
      expect(error).toBeInstanceOf(DeploymentNotFoundError);
      expect(error).toMatchObject({ code: "DEPLOYMENT_NOT_FOUND", status: 404, details: { dseq } });
    }
  });

  it("throws DeploymentNotActiveError for a closed deployment", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    const error = await rejection(resolveLeaseTarget({ chain }, lease("101")));
    expect(error).toBeInstanceOf(DeploymentNotActiveError);
    expect(error).toMatchObject({ status: 409, details: { dseq: "101", state: "closed" } });
  });

  it("throws LeaseNotFoundError for a gseq or oseq the deployment does not have", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    for (const input of [lease("100", 3, 1), lease("100", 1, 9)]) {
      const error = await rejection(resolveLeaseTarget({ chain }, input));
      expect(error).toBeInstanceOf(LeaseNotFoundError);
      expect(error).toMatchObject({ status: 404, details: { dseq: "100", gseq: input.gseq, oseq: input.oseq } });
    }
  });

  it("throws LeaseNotActiveError with the lease's state for a closed or unfunded lease", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    const closed = await rejection(resolveLeaseTarget({ chain }, lease("100", 1, 2)));
    expect(closed).toBeInstanceOf(LeaseNotActiveError);
    expect(closed).toMatchObject({ status: 409, details: { dseq: "100", gseq: 1, oseq: 2, state: "closed" } });
    const unfunded = await rejection(resolveLeaseTarget({ chain }, lease("100", 2, 1)));
    expect(unfunded).toMatchObject({ code: "LEASE_NOT_ACTIVE", details: { state: "insufficient_funds" } });
  });

  it("throws ChainUnavailableError naming the provider when the lease's provider is not registered", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    const error = await rejection(resolveLeaseTarget({ chain }, lease("102")));
    expect(error).toBeInstanceOf(ChainUnavailableError);
    expect((error as Error).message).toContain(unregisteredProvider);
    expect((error as Error).message).toContain("not registered");
  });

  it("throws ChainUnavailableError when the chain is down, and does not cache it", async () => {
    const { chain } = countingChain();
    const cache = createLeaseTargetCache();
    sim.setChainFault({ error: { code: 13, message: "node is syncing" } });
    expect(await rejection(resolveLeaseTarget({ chain, cache }, lease("100")))).toBeInstanceOf(ChainUnavailableError);
    sim.setChainFault(null);
    expect(await resolveLeaseTarget({ chain, cache }, lease("100"))).toMatchObject({ dseq: "100" });
  });

  it("uses the owner it is given, never one from elsewhere: the same dseq under another owner is not found", async () => {
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    expect(await resolveLeaseTarget({ chain }, { owner: stranger, dseq: "200", gseq: 1, oseq: 1 })).toMatchObject({
      owner: stranger,
    });
    expect(await rejection(resolveLeaseTarget({ chain }, { owner, dseq: "200", gseq: 1, oseq: 1 }))).toBeInstanceOf(
      DeploymentNotFoundError,
    );
  });
});

describe("resolveLeaseTarget with a cache", () => {
  it("reuses a found target for 10 s, then asks the chain again and sees the closed lease", async () => {
    const clock = manualClock();
    const cache = createLeaseTargetCache({ now: clock.now });
    const { chain, requests } = countingChain();
    const target = await resolveLeaseTarget({ chain, cache }, lease("103"));
    expect(requests()).toBe(3); // deployment, leases, provider

    sim.closeLease({ dseq: "103", gseq: 1, oseq: 1 });
    clock.advance(9_999);
    expect(await resolveLeaseTarget({ chain, cache }, lease("103"))).toEqual(target);
    expect(requests()).toBe(3);

    clock.advance(1);
    const error = await rejection(resolveLeaseTarget({ chain, cache }, lease("103")));
    expect(error).toBeInstanceOf(LeaseNotActiveError);
    expect(requests()).toBe(5); // deployment and leases; no provider for an inactive lease
  });

  it("reuses a negative answer for 2 s only, as a fresh error each time", async () => {
    const clock = manualClock();
    const cache = createLeaseTargetCache({ now: clock.now });
    const { chain, requests } = countingChain();
    const first = await rejection(resolveLeaseTarget({ chain, cache }, lease("300")));
    expect(first).toBeInstanceOf(DeploymentNotFoundError);
    expect(requests()).toBe(2);

    sim.addDeployment({ owner, dseq: "300", leases: [{ provider: "p1" }] });
    clock.advance(1_999);
    const second = await rejection(resolveLeaseTarget({ chain, cache }, lease("300")));
    expect(second).toBeInstanceOf(DeploymentNotFoundError);
    expect(second).not.toBe(first);
    expect(requests()).toBe(2);

    clock.advance(1);
    expect(await resolveLeaseTarget({ chain, cache }, lease("300"))).toMatchObject({ dseq: "300" });
  });

  it("honours custom TTLs and forgetLeaseTarget", async () => {
    const clock = manualClock();
    const cache = createLeaseTargetCache({ now: clock.now });
    const { chain, requests } = countingChain();
    const ttl = { foundMs: 60_000, notFoundMs: 0 };
    await resolveLeaseTarget({ chain, cache, ttl }, lease("104"));
    clock.advance(30_000);
    await resolveLeaseTarget({ chain, cache, ttl }, lease("104"));
    expect(requests()).toBe(3);
    forgetLeaseTarget(cache, lease("104"));
    await resolveLeaseTarget({ chain, cache, ttl }, lease("104"));
    expect(requests()).toBe(6);

    await rejection(resolveLeaseTarget({ chain, cache, ttl }, lease("999")));
    await rejection(resolveLeaseTarget({ chain, cache, ttl }, lease("999")));
    expect(requests()).toBe(10); // a zero negative TTL caches nothing
  });

  it("makes one set of chain calls for 100 concurrent resolutions of one lease", async () => {
    const cache = createLeaseTargetCache();
    const { chain, requests } = countingChain();
    // Slow answers make sure the callers really overlap the load.
    sim.setChainFault({ delayMs: 50 });
    const results = await Promise.all(Array.from({ length: 100 }, () => resolveLeaseTarget({ chain, cache }, lease("100"))));
    expect(requests()).toBe(3);
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(results[0]).toMatchObject({ dseq: "100", provider: sim.providers[0]!.address });
  });

  it("shares one negative answer among concurrent callers, each getting its own error", async () => {
    const cache = createLeaseTargetCache();
    const { chain, requests } = countingChain();
    const errors = await Promise.all(Array.from({ length: 20 }, () => rejection(resolveLeaseTarget({ chain, cache }, lease("101")))));
    expect(requests()).toBe(2);
    expect(errors.every((error) => error instanceof DeploymentNotActiveError)).toBe(true);
    expect(new Set(errors).size).toBe(20);
  });

  it("keeps leases apart by owner and ids", async () => {
    const cache = createLeaseTargetCache();
    const chain = new ChainRestClient({ baseUrl: sim.chainUrl });
    expect(await resolveLeaseTarget({ chain, cache }, { owner: stranger, dseq: "200", gseq: 1, oseq: 1 })).toMatchObject({
      owner: stranger,
    });
    expect(await rejection(resolveLeaseTarget({ chain, cache }, { owner, dseq: "200", gseq: 1, oseq: 1 }))).toBeInstanceOf(
      DeploymentNotFoundError,
    );
  });
});
