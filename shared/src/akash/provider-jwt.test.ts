import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import { loadChainSdkJwtVectors } from "../../../test/chain-sdk-vectors.ts";
import {
  mintProviderToken,
  ProviderTokenCache,
  providerJwtClaimsSchema,
  signEs256kJwt,
  stableStringify,
} from "./provider-jwt.ts";
import { AkashWallet, verifySecp256k1 } from "./wallet.ts";

const vectors = loadChainSdkJwtVectors();
const PROVIDER = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";

function decodePart(part: string): unknown {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

describe.skipIf(!vectors)("ES256K signer against chain-sdk's test vectors", () => {
  const cases = vectors?.cases ?? [];
  const wallet = vectors ? AkashWallet.fromMnemonic(vectors.mnemonic) : undefined;

  it("reproduces the valid ES256K token byte for byte", () => {
    const valid = cases.find((c) => c.description === "ES256K - Valid Signature")!;
    const [header, payload, signature] = valid.tokenString.split(".");
    const ours = wallet!.sign(new TextEncoder().encode(`${header}.${payload}`));
    expect(Buffer.from(ours).toString("base64url")).toBe(signature);
    expect(verifySecp256k1(ours, new TextEncoder().encode(`${header}.${payload}`), wallet!.publicKey)).toBe(true);
  });

  it("rejects the invalid ES256K case", () => {
    const invalid = cases.find((c) => c.description === "ES256K - Invalid Signature")!;
    const [header, payload, signature] = invalid.tokenString.split(".");
    const ok = verifySecp256k1(
      Buffer.from(signature!, "base64url"),
      new TextEncoder().encode(`${header}.${payload}`),
      wallet!.publicKey,
    );
    expect(ok).toBe(false);
  });
});

describe("provider tokens", () => {
  const wallet = AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());

  it("derives an akash1 address of 44 characters", () => {
    expect(wallet.address).toMatch(/^akash1[a-z0-9]{38}$/);
    expect(JSON.stringify(wallet)).toBe(JSON.stringify({ address: wallet.address }));
  });

  it("mints 1,000 tokens that are all low-S, verify, and carry exactly the spec's claims", () => {
    const halfN = secp256k1.Point.CURVE().n / 2n;
    for (let i = 0; i < 1_000; i++) {
      const { token } = mintProviderToken({ wallet, provider: PROVIDER, scope: ["shell", "status"], ttlSeconds: 900 });
      const [header, payload, signature] = token.split(".");
      expect(decodePart(header!)).toEqual({ alg: "ES256K", typ: "JWT" });
      const claims = providerJwtClaimsSchema.parse(decodePart(payload!));
      expect(Object.keys(decodePart(payload!) as object).sort()).toEqual(["exp", "iat", "iss", "leases", "nbf", "version"]);
      expect(claims.leases).toEqual({
        access: "granular",
        permissions: [{ provider: PROVIDER, access: "scoped", scope: ["shell", "status"] }],
      });
      expect(claims.nbf).toBeLessThan(claims.iat);
      const sig = Buffer.from(signature!, "base64url");
      expect(sig).toHaveLength(64);
      expect(BigInt(`0x${sig.subarray(32).toString("hex")}`) <= halfN).toBe(true);
      expect(verifySecp256k1(sig, new TextEncoder().encode(`${header}.${payload}`), wallet.publicKey)).toBe(true);
    }
  });

  it("reuses a token while valid and mints a new one near expiry", () => {
    let now = 1_700_000_000_000;
    const cache = new ProviderTokenCache({ ttlSeconds: 300, refreshBeforeSeconds: 60, now: () => now });
    const first = cache.tokenFor(wallet, PROVIDER);
    now += 200_000;
    expect(cache.tokenFor(wallet, PROVIDER)).toBe(first);
    now += 50_000;
    expect(cache.tokenFor(wallet, PROVIDER)).not.toBe(first);
  });

  it("serialises claims with sorted keys", () => {
    expect(stableStringify({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
    const token = signEs256kJwt(wallet, { version: "v1" });
    expect(token.split(".")).toHaveLength(3);
  });
});
