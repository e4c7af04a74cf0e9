import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAkashSim, type AkashSim } from "../../../akash-sim/src/index.ts";
import { ChainUnavailableError } from "../errors.ts";
import { ChainRestClient } from "./chain-client.ts";
import { AkashWallet } from "./wallet.ts";

/** The client against akash-sim's chain REST, which answers as the chain's gRPC-gateway does. */

const owner = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());
const stranger = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());
const neverSigned = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic()).address;
const MANY = 150; // more than one page of 100

let sim: AkashSim;
let certificatePem: string;
let otherCertificatePem: string;

/** Real fetch, counting the requests it makes. */
function countingFetch(): { fetch: typeof globalThis.fetch; urls: URL[] } {
  const urls: URL[] = [];
  return {
    urls,
    fetch: (input, init) => {
      urls.push(new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url));
      return globalThis.fetch(input, init);
    },
  };
}

/** A self-signed P-256 certificate made with the openssl CLI (Node parses certificates but does not issue them). */
function selfSignedCertificatePem(commonName: string): string {
  const dir = mkdtempSync(join(tmpdir(), "chain-client-cert-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem",
        "-out", "cert.pem", "-days", "2", "-subj", `/CN=${commonName}`],
      { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
    );
    return readFileSync(join(dir, "cert.pem"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  certificatePem = selfSignedCertificatePem(owner.address);
  otherCertificatePem = selfSignedCertificatePem(owner.address);
  sim = await startAkashSim({
    seed: {
      wallets: [{ address: owner.address, publicKey: owner.publicKeyHex }, { address: neverSigned }],
      providers: [{ name: "p1", attributes: [{ key: "region", value: "sim" }] }],
      deployments: [
        {
          owner: owner.address,
          dseq: "1001",
          leases: [
            { gseq: 1, oseq: 1, provider: "p1" },
            { gseq: 2, oseq: 1, provider: "p1", state: "insufficient_funds" },
          ],
        },
        { owner: owner.address, dseq: "1002", state: "closed", leases: [{ provider: "p1", state: "closed" }] },
        {
          owner: owner.address,
          dseq: "1003",
          leases: Array.from({ length: MANY }, (_, index) => ({ gseq: 1, oseq: index + 1, provider: "p1" })),
        },
        { owner: stranger.address, dseq: "2001", leases: [{ provider: "p1" }] },
      ],
      certificates: [
        { owner: owner.address, pem: certificatePem, state: "valid" },
        { owner: owner.address, pem: otherCertificatePem, state: "revoked" },
        // The same PEM under many serials: more than one page of valid certificates for the stranger.
        ...Array.from({ length: MANY }, (_, index) => ({ owner: stranger.address, pem: certificatePem, serial: String(index + 1) })),
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

describe("ChainRestClient.getDeployment", () => {
  it("returns the owner's deployment with its state", async () => {
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    expect(await client.getDeployment(owner.address, "1001")).toEqual({ owner: owner.address, dseq: "1001", state: "active" });
    expect(await client.getDeployment(owner.address, "1002")).toEqual({ owner: owner.address, dseq: "1002", state: "closed" });
  });

  it("returns null for an unknown dseq and for another owner's dseq", async () => {
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    expect(await client.getDeployment(owner.address, "999999")).toBeNull();
    expect(await client.getDeployment(owner.address, "2001")).toBeNull();
  });
});

describe("ChainRestClient.listLeases", () => {
  it("returns leases with their ids and states, narrowed by gseq, oseq and state", async () => {
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    const provider = sim.providers[0]!.address;
    expect(await client.listLeases({ owner: owner.address, dseq: "1001" })).toEqual([
      { owner: owner.address, dseq: "1001", gseq: 1, oseq: 1, provider, bseq: 0, state: "active" },
      { owner: owner.address, dseq: "1001", gseq: 2, oseq: 1, provider, bseq: 0, state: "insufficient_funds" },
    ]);
    expect((await client.listLeases({ owner: owner.address, dseq: "1001", gseq: 2, oseq: 1 })).map((l) => l.state)).toEqual([
      "insufficient_funds",
    ]);
    expect(await client.listLeases({ owner: owner.address, dseq: "1001", state: "closed" })).toEqual([]);
    expect(await client.listLeases({ owner: owner.address, dseq: "2001" })).toEqual([]);
  });

  it("follows pagination.next_key to the last page", async () => {
    const counting = countingFetch();
    const client = new ChainRestClient({ baseUrl: sim.chainUrl, fetch: counting.fetch });
    const leases = await client.listLeases({ owner: owner.address, dseq: "1003" });
    expect(leases.map((lease) => lease.oseq)).toEqual(Array.from({ length: MANY }, (_, index) => index + 1));
    expect(counting.urls).toHaveLength(2);
    expect(counting.urls[1]!.searchParams.get("pagination.key")).toBeTruthy();
  });
});

describe("ChainRestClient.getProvider", () => {
  it("returns the provider's host_uri and attributes, or null for an unregistered address", async () => {
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    const provider = sim.providers[0]!;
    expect(await client.getProvider(provider.address)).toEqual({
      owner: provider.address,
      hostUri: provider.hostUri,
      attributes: [{ key: "region", value: "sim" }],
    });
    expect(await client.getProvider(stranger.address)).toBeNull();
  });
});

describe("ChainRestClient.getAccountPublicKey", () => {
  it("returns the 33-byte compressed key the chain publishes", async () => {
    const key = await new ChainRestClient({ baseUrl: sim.chainUrl }).getAccountPublicKey(owner.address);
    expect(key).toBeInstanceOf(Uint8Array);
    expect(key).toEqual(owner.publicKey);
  });

  it("returns null for an account that never signed and for an unknown account", async () => {
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    expect(await client.getAccountPublicKey(neverSigned)).toBeNull();
    expect(await client.getAccountPublicKey(AkashWallet.fromMnemonic(AkashWallet.generateMnemonic()).address)).toBeNull();
  });
});

describe("ChainRestClient.listCertificates", () => {
  it("decodes the owner's valid certificates to PEM text, leaving revoked ones out", async () => {
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    const valid = await client.listCertificates(owner.address, { state: "valid" });
    expect(valid).toEqual([certificatePem]);
    expect(await client.listCertificates(owner.address, { state: "revoked" })).toEqual([otherCertificatePem]);
    expect(await client.listCertificates(neverSigned)).toEqual([]);
  });

  it("follows pagination across more than one page", async () => {
    const counting = countingFetch();
    const client = new ChainRestClient({ baseUrl: sim.chainUrl, fetch: counting.fetch });
    const pems = await client.listCertificates(stranger.address, { state: "valid" });
    expect(pems).toHaveLength(MANY);
    expect(new Set(pems)).toEqual(new Set([certificatePem]));
    expect(counting.urls).toHaveLength(2);
  });
});

describe("ChainRestClient when the chain is down", () => {
  it("throws ChainUnavailableError for a gRPC Internal error on every query", async () => {
    sim.setChainFault({ error: { code: 13, message: "node is syncing" } });
    const client = new ChainRestClient({ baseUrl: sim.chainUrl });
    const queries = [
      client.getDeployment(owner.address, "1001"),
      client.listLeases({ owner: owner.address, dseq: "1001" }),
      client.getProvider(sim.providers[0]!.address),
      client.getAccountPublicKey(owner.address),
      client.listCertificates(owner.address),
    ];
    for (const query of queries) {
      await expect(query).rejects.toBeInstanceOf(ChainUnavailableError);
    }
    await expect(client.getDeployment(owner.address, "1001")).rejects.toThrow("node is syncing");
  });

  it("throws ChainUnavailableError when the chain answers slower than the timeout", async () => {
    sim.setChainFault({ delayMs: 2_000 });
    const client = new ChainRestClient({ baseUrl: sim.chainUrl, timeoutMs: 150 });
    await expect(client.getDeployment(owner.address, "1001")).rejects.toThrow(/timed out after 150 ms/);
  });
});
