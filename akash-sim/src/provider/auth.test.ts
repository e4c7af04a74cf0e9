import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64url, signEs256kJwt } from "@shell-exec/shared/akash/provider-jwt.ts";
import { createClientCertificate } from "@shell-exec/shared/tls/self-signed.ts";
import { startAkashSim, type AkashSim } from "../sim.ts";
import { httpCall } from "../testing/http.ts";
import { freshWallet, providerToken, runShell, shellUrl } from "../testing/shell-client.ts";
import { startTestSim, TEST_DSEQ, type TestSim } from "../testing/fixture.ts";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

let t: TestSim;
const status = (token: string | undefined, path = `/lease/${TEST_DSEQ}/1/1/status`, extra: Parameters<typeof httpCall>[1] = {}) =>
  httpCall(`${t.url}${path}`, { ca: t.ca, ...(token === undefined ? {} : { token }), ...extra });
const token = (options: Partial<Parameters<typeof providerToken>[0]> = {}) =>
  providerToken({ wallet: t.owner, provider: t.provider, scope: ["status", "shell"], ...options });
const now = () => Math.floor(Date.now() / 1000);

const INVALID = { status: 401, body: '{"message":"JWT is invalid"}' };
const INVALID_CLAIMS = { status: 400, body: '{"message":"JWT has invalid claims"}' };
const UNAUTHORIZED = { status: 401, body: '{"message":"unauthorized access"}' };

beforeAll(async () => {
  t = await startTestSim();
});

afterAll(async () => {
  await t.sim.stop();
});

describe("JWT accepted", () => {
  it("accepts granular, scoped and full tokens", async () => {
    expect((await status(token())).status).toBe(200);
    expect((await status(token({ leases: { access: "scoped", scope: ["status"] } }))).status).toBe(200);
    expect((await status(token({ leases: { access: "full" } }))).status).toBe(200);
    const granularDeployment = {
      access: "granular",
      permissions: [{ provider: t.provider, access: "granular", deployments: [{ dseq: Number(TEST_DSEQ), gseq: 1, scope: ["status"], services: ["web"] }] }],
    };
    expect((await status(token({ leases: granularDeployment }))).status).toBe(200);
  });

  it("accepts a token whose nbf is now (zero leeway, inclusive)", async () => {
    expect((await status(token({ claims: { nbf: now(), iat: now() } }))).status).toBe(200);
  });
});

describe("JWT rejected", () => {
  it("no credentials: 401 unauthorized access", async () => {
    expect(await status(undefined)).toMatchObject(UNAUTHORIZED);
  });

  it("Authorization not 'Bearer <token>': 400 invalid authorization header", async () => {
    for (const header of ["Bearer", "Basic abc", `Bearer ${token()} extra`]) {
      expect(await status(undefined, undefined, { headers: { authorization: header } })).toMatchObject({
        status: 400,
        body: '{"message":"invalid authorization header"}',
      });
    }
    // The scheme is case-insensitive.
    expect((await status(undefined, undefined, { headers: { authorization: `bEaReR ${token()}` } })).status).toBe(200);
  });

  it("malformed tokens: 401 JWT is invalid", async () => {
    const valid = token();
    const [h, c, s] = valid.split(".") as [string, string, string];
    for (const bad of ["abc", `${h}.${c}`, `${h}.${c}.${s}.x`, `${h}.!!!.${s}`, `${base64url("nope")}.${c}.${s}`, `${h}.${c}.${s}==`]) {
      expect(await status(bad)).toMatchObject(INVALID);
    }
    // A claim of the wrong JSON type fails Go's decode: invalid, not "invalid claims".
    expect(await status(token({ claims: { exp: String(now() + 60) } }))).toMatchObject(INVALID);
    expect(await status(token({ claims: { version: 1 } }))).toMatchObject(INVALID);
  });

  it("wrong alg: 401 JWT is invalid", async () => {
    for (const alg of ["ES256", "HS256", "none", "ES256KADR36"]) {
      expect(await status(token({ header: { alg, typ: "JWT" } }))).toMatchObject(INVALID);
    }
    expect(await status(token({ header: { typ: "JWT" } }))).toMatchObject(INVALID);
  });

  it("signed by another key, or issuer unknown or without a published key: 401 JWT is invalid", async () => {
    const stranger = freshWallet();
    // iss is the owner, signature by a stranger
    const forged = signEs256kJwt(stranger, JSON.parse(Buffer.from(token().split(".")[1]!, "base64url").toString()) as object);
    expect(await status(forged)).toMatchObject(INVALID);
    // iss is a wallet the chain does not know
    expect(await status(providerToken({ wallet: stranger, provider: t.provider }))).toMatchObject(INVALID);
    // iss is an account that never signed a transaction (pub_key null)
    t.sim.addWallet({ address: stranger.address });
    expect(await status(providerToken({ wallet: stranger, provider: t.provider }))).toMatchObject(INVALID);
    // iss is not an address at all
    expect(await status(token({ claims: { iss: "akash1nope" } }))).toMatchObject(INVALID);
    expect(await status(token({ claims: { iss: undefined } }))).toMatchObject(INVALID);
  });

  it("a high-S signature (valid ECDSA, rejected by Cosmos): 401 JWT is invalid", async () => {
    const valid = token();
    const [h, c, s] = valid.split(".") as [string, string, string];
    const signature = Buffer.from(s, "base64url");
    const lowS = BigInt(`0x${signature.subarray(32).toString("hex")}`);
    expect(lowS <= SECP256K1_N / 2n).toBe(true);
    const highS = Buffer.from((SECP256K1_N - lowS).toString(16).padStart(64, "0"), "hex");
    const flipped = Buffer.concat([signature.subarray(0, 32), highS]);
    expect((await status(valid)).status).toBe(200);
    expect(await status(`${h}.${c}.${flipped.toString("base64url")}`)).toMatchObject(INVALID);
  });

  it("expired (exp = now, zero leeway) or not yet valid: 400 JWT has invalid claims, as the provider's error mapping answers", async () => {
    expect(await status(token({ claims: { exp: now() - 1 } }))).toMatchObject(INVALID_CLAIMS);
    expect(await status(token({ claims: { exp: now() } }))).toMatchObject(INVALID_CLAIMS);
    expect(await status(token({ claims: { nbf: now() + 5 } }))).toMatchObject(INVALID_CLAIMS);
  });

  it("missing claims, wrong version, bad leases: 400 JWT has invalid claims", async () => {
    for (const claims of [{ iat: undefined }, { nbf: undefined }, { exp: undefined }, { version: undefined }, { version: "v2" }, { leases: undefined }]) {
      expect(await status(token({ claims }))).toMatchObject(INVALID_CLAIMS);
    }
    for (const leases of [
      { access: "scoped", scope: [] },
      { access: "scoped", scope: ["shell", "shell"] },
      { access: "scoped", scope: ["fly"] },
      { access: "full", scope: ["shell"] },
      { access: "everything" },
      { access: "granular", permissions: [] },
      { access: "granular", permissions: [{ provider: t.provider, access: "scoped", scope: [] }] },
      { access: "granular", permissions: [{ provider: t.provider, access: "granular", deployments: [{ dseq: 0, scope: ["status"], services: ["web"] }] }] },
    ]) {
      expect(await status(token({ leases }))).toMatchObject(INVALID_CLAIMS);
    }
  });

  it("extra claims (forbidden by the published schema): 400 JWT has invalid claims", async () => {
    expect(await status(token({ claims: { aud: "someone" } }))).toMatchObject(INVALID_CLAIMS);
    expect(await status(token({ claims: { role: "admin" } }))).toMatchObject(INVALID_CLAIMS);
  });

  it("wrong scope: 401 unauthorized access", async () => {
    expect(await status(token({ scope: ["shell"] }))).toMatchObject(UNAUTHORIZED);
    expect(await status(token({ leases: { access: "scoped", scope: ["logs"] } }))).toMatchObject(UNAUTHORIZED);
    const shell = await runShell(t.shellUrl({ argv: ["true"] }), { token: token({ scope: ["status"] }), ca: t.ca }).catch((e: unknown) => e);
    expect(String(shell)).toMatch(/HTTP 401/);
  });

  it("a granular permission for another provider, or another deployment: 401 unauthorized access", async () => {
    const elsewhere = freshWallet().address;
    expect(await status(providerToken({ wallet: t.owner, provider: elsewhere }))).toMatchObject(UNAUTHORIZED);
    const otherDeployment = {
      access: "granular",
      permissions: [{ provider: t.provider, access: "granular", deployments: [{ dseq: 999, scope: ["status"], services: ["web"] }] }],
    };
    expect(await status(token({ leases: otherDeployment }))).toMatchObject(UNAUTHORIZED);
  });
});

describe("lenient schema", () => {
  it("accepts extra claims with strictJwtSchema: false, as real providers do", async () => {
    const owner = freshWallet();
    const lenient: AkashSim = await startAkashSim({
      strictJwtSchema: false,
      seed: {
        wallets: [{ address: owner.address, publicKey: owner.publicKeyHex }],
        providers: [{ name: "p" }],
        deployments: [{ owner: owner.address, dseq: 5, leases: [{ provider: "p", services: [{ name: "web" }] }] }],
      },
    });
    try {
      const provider = lenient.providers[0]!;
      const response = await httpCall(`${provider.url}/lease/5/1/1/status`, {
        ca: provider.certificatePem,
        token: providerToken({ wallet: owner, provider: provider.address, claims: { aud: "x", role: "admin" } }),
      });
      expect(response.status).toBe(200);
    } finally {
      await lenient.stop();
    }
  });
});

describe("mTLS", () => {
  it("accepts a client certificate published on chain, CN = owner, full access", async () => {
    const client = createClientCertificate({ address: t.owner.address });
    t.sim.addCertificate({ owner: t.owner.address, pem: client.certPem });
    const response = await status(undefined, undefined, { cert: client.certPem, key: client.keyPem });
    expect(response.status).toBe(200);
    const exchange = await runShell(shellUrl(t.url, t.lease, { argv: ["echo", "mtls"] }), { ca: t.ca, cert: client.certPem, key: client.keyPem });
    expect(exchange.stdout).toBe("mtls\n");
  });

  it("answers 400 when a client certificate and a token come together", async () => {
    const client = createClientCertificate({ address: t.owner.address });
    t.sim.addCertificate({ owner: t.owner.address, pem: client.certPem });
    const response = await status(token(), undefined, { cert: client.certPem, key: client.keyPem });
    expect(response).toMatchObject({
      status: 400,
      body: '{"message":"auth: ambiguous authentication. may not use mTLS and JWT at the same time"}',
    });
  });

  it("drops the connection for a certificate not on chain, revoked, or expired", async () => {
    const unknown = createClientCertificate({ address: t.owner.address });
    await expect(status(undefined, undefined, { cert: unknown.certPem, key: unknown.keyPem })).rejects.toThrow();

    const revoked = createClientCertificate({ address: t.owner.address });
    t.sim.addCertificate({ owner: t.owner.address, pem: revoked.certPem, state: "revoked" });
    await expect(status(undefined, undefined, { cert: revoked.certPem, key: revoked.keyPem })).rejects.toThrow();

    const expired = createClientCertificate({
      address: t.owner.address,
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    t.sim.addCertificate({ owner: t.owner.address, pem: expired.certPem });
    await expect(status(undefined, undefined, { cert: expired.certPem, key: expired.keyPem })).rejects.toThrow();
  });

  it("gives a certificate owner access to its own leases only", async () => {
    const other = freshWallet();
    const client = createClientCertificate({ address: other.address });
    t.sim.addCertificate({ owner: other.address, pem: client.certPem });
    // The lease is looked up under the certificate's owner, who has none.
    const response = await status(undefined, undefined, { cert: client.certPem, key: client.keyPem });
    expect(response).toMatchObject({ status: 404, body: "" });
  });
});
