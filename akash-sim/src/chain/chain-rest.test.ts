import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { ChainRestClient } from "@shell-exec/shared/akash/chain-client.ts";
import { X509Certificate } from "node:crypto";
import { createClientCertificate } from "@shell-exec/shared/tls/self-signed.ts";
import { startAkashSim, type AkashSim } from "../index.ts";

const owner = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());
const other = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());

/** vitest's asymmetric matchers are typed any; these keep them out of the lint's way. */
const decimalString = (): unknown => expect.stringMatching(/^\d+$/);
const anyString = (): unknown => expect.any(String);
const containing = (text: string): unknown => expect.stringContaining(text);
const anything = (): unknown => expect.anything();
const objectContaining = (shape: object): unknown => expect.objectContaining(shape);

let sim: AkashSim;
let client: ChainRestClient;

async function get(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sim.chainUrl}${path}`);
  return { status: response.status, body: (await response.json()) };
}

beforeAll(async () => {
  sim = await startAkashSim({
    seed: {
      providers: [{ name: "p1", attributes: [{ key: "region", value: "sim" }], info: { email: "ops@example.com" } }],
      deployments: [
        {
          owner: owner.address,
          dseq: "1234",
          leases: [
            { gseq: 1, oseq: 1, provider: "p1", services: [{ name: "web" }] },
            { gseq: 2, oseq: 1, provider: "p1", state: "closed" },
          ],
        },
        { owner: owner.address, dseq: 99, state: "closed" },
      ],
    },
  });
  sim.addWallet({ address: owner.address, publicKey: owner.publicKeyHex });
  client = new ChainRestClient({ baseUrl: sim.chainUrl });
});

afterAll(async () => {
  await sim.stop();
});

describe("deployment info", () => {
  it("answers the deployment with 64-bit integers as strings and lowercase enums", async () => {
    const { status, body } = await get(`/akash/deployment/v1beta4/deployments/info?id.owner=${owner.address}&id.dseq=1234`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      deployment: { id: { owner: owner.address, dseq: "1234" }, state: "active", created_at: decimalString() },
      groups: [
        { id: { owner: owner.address, dseq: "1234", gseq: 1 }, state: "open" },
        { id: { owner: owner.address, dseq: "1234", gseq: 2 }, state: "closed" },
      ],
      escrow_account: { id: { scope: "deployment", xid: `${owner.address}/1234` } },
    });
    expect(await client.getDeployment(owner.address, "1234")).toEqual({ owner: owner.address, dseq: "1234", state: "active" });
    expect(await client.getDeployment(owner.address, "99")).toMatchObject({ state: "closed" });
  });

  it("answers 404 code 5 for an unknown deployment (deployments are keyed by owner)", async () => {
    const { status, body } = await get(`/akash/deployment/v1beta4/deployments/info?id.owner=${other.address}&id.dseq=1234`);
    expect(status).toBe(404);
    expect(body).toEqual({ code: 5, message: "codespace deployment code 4: Deployment not found", details: [] });
    expect(await client.getDeployment(other.address, "1234")).toBeNull();
  });

  it("answers 400 for a malformed owner or dseq", async () => {
    expect(await get(`/akash/deployment/v1beta4/deployments/info?id.owner=akash1nope&id.dseq=1`)).toEqual({
      status: 400,
      body: { code: 3, message: "invalid owner address", details: [] },
    });
    const bad = await get(`/akash/deployment/v1beta4/deployments/info?id.owner=${owner.address}&id.dseq=x`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 3, message: containing("type mismatch, parameter: id.dseq") });
  });

  it("follows state changes made at run time", async () => {
    sim.setDeploymentState(owner.address, "1234", "closed");
    expect(await client.getDeployment(owner.address, "1234")).toMatchObject({ state: "closed" });
    sim.setDeploymentState(owner.address, "1234", "active");
  });
});

describe("leases list", () => {
  it("lists leases with the exact id shape, price and escrow payment", async () => {
    const provider = sim.providers[0]!.address;
    const { status, body } = await get(`/akash/market/v1beta5/leases/list?filters.owner=${owner.address}&filters.dseq=1234&filters.gseq=1`);
    expect(status).toBe(200);
    expect(body).toEqual({
      leases: [
        {
          lease: {
            id: { owner: owner.address, dseq: "1234", gseq: 1, oseq: 1, provider, bseq: 0 },
            state: "active",
            price: { denom: "uakt", amount: "1.000000000000000000" },
            created_at: decimalString(),
            closed_on: "0",
            reason: "lease_closed_invalid",
          },
          escrow_payment: objectContaining({ id: anything(), state: objectContaining({ owner: provider }) }),
        },
      ],
      pagination: { next_key: null, total: "1" },
    });
  });

  it("filters by state, answers [] for no match and 400 for a bad state", async () => {
    const closed = await client.listLeases({ owner: owner.address, dseq: "1234", state: "closed" });
    expect(closed.map((l) => l.gseq)).toEqual([2]);
    expect(await get(`/akash/market/v1beta5/leases/list?filters.owner=${other.address}&filters.dseq=1234`)).toEqual({
      status: 200,
      body: { leases: [], pagination: { next_key: null, total: "0" } },
    });
    expect(await get(`/akash/market/v1beta5/leases/list?filters.owner=${owner.address}&filters.state=bogus`)).toEqual({
      status: 400,
      body: { code: 3, message: "invalid state value", details: [] },
    });
  });

  it("pages with pagination.limit and next_key", async () => {
    const first = await get(`/akash/market/v1beta5/leases/list?filters.owner=${owner.address}&pagination.limit=1`);
    const page1 = first.body as { leases: { lease: { id: { gseq: number } } }[]; pagination: { next_key: string | null; total: string } };
    expect(page1.leases.map((l) => l.lease.id.gseq)).toEqual([1]);
    expect(page1.pagination.total).toBe("1");
    expect(page1.pagination.next_key).toEqual(anyString());
    const second = await get(
      `/akash/market/v1beta5/leases/list?filters.owner=${owner.address}&pagination.limit=1&pagination.key=${encodeURIComponent(page1.pagination.next_key!)}`,
    );
    expect(second.body).toMatchObject({ leases: [{ lease: { id: { gseq: 2 } } }], pagination: { next_key: null } });
    // The chain client walks the pages itself.
    expect((await client.listLeases({ owner: owner.address, dseq: "1234" })).length).toBe(2);
  });

  it("closes a lease at run time", async () => {
    sim.closeLease({ dseq: "1234", gseq: 1, oseq: 1 });
    const [lease] = await client.listLeases({ owner: owner.address, dseq: "1234", gseq: 1 });
    expect(lease).toMatchObject({ state: "closed" });
    sim.setLeaseState({ dseq: "1234", gseq: 1, oseq: 1 }, "active");
    sim.setManifest({ dseq: "1234", gseq: 1, oseq: 1 }, true);
  });
});

describe("provider, account, certificates", () => {
  it("answers the provider with its host_uri, attributes and info", async () => {
    const provider = sim.providers[0]!;
    const { status, body } = await get(`/akash/provider/v1beta4/providers/${provider.address}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      provider: {
        owner: provider.address,
        host_uri: provider.hostUri,
        attributes: [{ key: "region", value: "sim" }],
        info: { email: "ops@example.com", website: "" },
      },
    });
    expect(await client.getProvider(provider.address)).toMatchObject({ hostUri: provider.hostUri });
  });

  it("answers 404/400 for unknown and malformed provider addresses", async () => {
    expect(await get(`/akash/provider/v1beta4/providers/${other.address}`)).toEqual({
      status: 404,
      body: { code: 5, message: "codespace provider code 3: invalid provider: address not found", details: [] },
    });
    expect((await get(`/akash/provider/v1beta4/providers/bogus`)).status).toBe(400);
    expect(await client.getProvider(other.address)).toBeNull();
  });

  it("publishes the account's compressed secp256k1 key", async () => {
    const { status, body } = await get(`/cosmos/auth/v1beta1/accounts/${owner.address}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      account: {
        "@type": "/cosmos.auth.v1beta1.BaseAccount",
        address: owner.address,
        pub_key: { "@type": "/cosmos.crypto.secp256k1.PubKey", key: Buffer.from(owner.publicKey).toString("base64") },
        account_number: decimalString(),
        sequence: decimalString(),
      },
    });
    expect(await client.getAccountPublicKey(owner.address)).toEqual(owner.publicKey);
  });

  it("answers 404 for an unknown account and null pub_key for one that never signed", async () => {
    expect(await get(`/cosmos/auth/v1beta1/accounts/${other.address}`)).toEqual({
      status: 404,
      body: { code: 5, message: `account ${other.address} not found`, details: [] },
    });
    // The auth module's address codec error is a plain error: gRPC code 2, HTTP 500.
    const malformed = await get(`/cosmos/auth/v1beta1/accounts/akash1notanaddress`);
    expect(malformed.status).toBe(500);
    expect(malformed.body).toMatchObject({ code: 2, details: [] });
    sim.addWallet({ address: other.address });
    expect(await get(`/cosmos/auth/v1beta1/accounts/${other.address}`)).toMatchObject({ status: 200, body: { account: { pub_key: null } } });
    expect(await client.getAccountPublicKey(other.address)).toBeNull();
  });

  it("lists certificates as base64 PEM and rejects a bad state", async () => {
    const list = await get(`/akash/cert/v1/certificates/list?filter.owner=${owner.address}&filter.state=valid`);
    expect(list).toEqual({ status: 200, body: { certificates: [], pagination: { next_key: null, total: "0" } } });
    expect(await get(`/akash/cert/v1/certificates/list?filter.state=nope`)).toEqual({
      status: 400,
      body: { code: 3, message: "invalid state value", details: [] },
    });
  });

  it("publishes each provider's gateway certificate, and lists added and revoked ones by state", async () => {
    const provider = sim.providers[0]!;
    expect(await client.listCertificates(provider.address)).toEqual([provider.certificatePem]);
    const body = (await get(`/akash/cert/v1/certificates/list?filter.owner=${provider.address}`)).body as {
      certificates: { certificate: { state: string; cert: string; pubkey: string }; serial: string }[];
    };
    const [entry] = body.certificates;
    expect(entry!.certificate.state).toBe("valid");
    expect(Buffer.from(entry!.certificate.pubkey, "base64").toString()).toContain("BEGIN PUBLIC KEY");
    expect(BigInt(`0x${new X509Certificate(provider.certificatePem).serialNumber}`).toString()).toBe(entry!.serial);

    const client1 = createClientCertificate({ address: owner.address });
    const client2 = createClientCertificate({ address: owner.address });
    sim.addCertificate({ owner: owner.address, pem: client1.certPem });
    sim.addCertificate({ owner: owner.address, pem: client2.certPem });
    sim.setCertificateState(owner.address, client1.serial, "revoked");
    expect(await client.listCertificates(owner.address)).toEqual([client2.certPem]);
    expect(await client.listCertificates(owner.address, { state: "revoked" })).toEqual([client1.certPem]);
    const all = (await get(`/akash/cert/v1/certificates/list?filter.owner=${owner.address}`)).body as { certificates: { serial: string }[] };
    expect(all.certificates.map((c) => c.serial)).toEqual([client2.serial, client1.serial]);
  });

  it("answers grpc-gateway's 404 for an unrouted path and 501 for another method", async () => {
    expect(await get(`/akash/deployment/v1beta3/deployments/info`)).toEqual({
      status: 404,
      body: { code: 5, message: "Not Found", details: [] },
    });
    const post = await fetch(`${sim.chainUrl}/akash/market/v1beta5/leases/list`, { method: "POST" });
    expect(post.status).toBe(501);
    expect(await post.json()).toEqual({ code: 12, message: "Method Not Allowed", details: [] });
  });

  it("can be made to fail as a whole", async () => {
    sim.setChainFault({ error: { code: 14, message: "upstream unavailable" } });
    const { status, body } = await get(`/cosmos/auth/v1beta1/accounts/${owner.address}`);
    expect(status).toBe(503);
    expect(body).toEqual({ code: 14, message: "upstream unavailable", details: [] });
    sim.setChainFault(null);
  });
});
