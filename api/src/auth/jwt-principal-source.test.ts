import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShellExecError } from "../errors.ts";
import { authenticate, type AuthEnv } from "../middleware/authenticate.ts";
import { jwtEnvSchema, jwtPrincipalSourceFromEnv } from "./jwt-config.ts";
import { JwtPrincipalSource } from "./jwt-principal-source.ts";

const WALLET = "akash1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh";
const ISSUER = "https://idp.example.com/";
const AUDIENCE = "shell-exec";

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

function sign(privateKey: CryptoKey, alg: string, claims: JWTPayload, options: { kid?: string; exp?: string | number; iss?: string; aud?: string } = {}) {
  const jwt = new SignJWT({ akash_wallet: WALLET, permissions: ["shell-exec:execute", "shell-exec:read"], ...claims })
    .setProtectedHeader({ alg, ...(options.kid ? { kid: options.kid } : {}) })
    .setSubject("alice")
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt();
  if (options.exp !== undefined) jwt.setExpirationTime(options.exp);
  else jwt.setExpirationTime("5m");
  return jwt.sign(privateKey);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, apiKey: undefined });

describe("JwtPrincipalSource with a fixed public key", () => {
  let es256: KeyPair;
  let source: JwtPrincipalSource;

  beforeAll(async () => {
    es256 = await generateKeyPair("ES256", { extractable: true });
    source = new JwtPrincipalSource({ key: { kind: "public-key", key: await exportSPKI(es256.publicKey) }, issuer: ISSUER, audience: AUDIENCE });
  });

  it("maps sub, wallet and permissions to a principal", async () => {
    const principal = await source.authenticate(bearer(await sign(es256.privateKey, "ES256", {})));
    expect(principal).toEqual({ id: "jwt:alice", wallet: WALLET, permissions: new Set(["shell-exec:execute", "shell-exec:read"]), source: "jwt" });
  });

  it("reads permissions from a space-separated `scope` when the permissions claim is absent, ignoring unknown names", async () => {
    const token = await sign(es256.privateKey, "ES256", { permissions: undefined, scope: "openid audit:read shell-exec:read" });
    expect((await source.authenticate(bearer(token)))?.permissions).toEqual(new Set(["audit:read", "shell-exec:read"]));
  });

  it("does not recognise tampered, expired, foreign-issuer, foreign-audience or wallet-less tokens", async () => {
    const good = await sign(es256.privateKey, "ES256", {});
    const [header, payload, signature] = good.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), akash_wallet: "akash1lqxwuxdnrcmsmlyl3ke9ct8ru8a0crkvl2vcsn" })).toString("base64url");
    const refused = {
      tampered: `${header}.${forged}.${signature}`,
      expired: await sign(es256.privateKey, "ES256", {}, { exp: Math.floor(Date.now() / 1000) - 120 }),
      wrongIssuer: await sign(es256.privateKey, "ES256", {}, { iss: "https://evil.example.com/" }),
      wrongAudience: await sign(es256.privateKey, "ES256", {}, { aud: "another-service" }),
      noWallet: await sign(es256.privateKey, "ES256", { akash_wallet: undefined }),
      badWallet: await sign(es256.privateKey, "ES256", { akash_wallet: "cosmos1qufa3xzrf34qvwyejkhvnc4psf49fftaw0asmh" }),
      otherKey: await sign((await generateKeyPair("ES256")).privateKey, "ES256", {}),
    };
    for (const [name, token] of Object.entries(refused)) {
      expect({ name, principal: await source.authenticate(bearer(token)) }).toEqual({ name, principal: null });
    }
  });

  it("accepts a token expired within the clock tolerance, and refuses tokens without exp", async () => {
    const justExpired = await sign(es256.privateKey, "ES256", {}, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await source.authenticate(bearer(justExpired))).not.toBeNull();
    const strict = new JwtPrincipalSource({
      key: { kind: "public-key", key: await exportSPKI(es256.publicKey) },
      issuer: ISSUER,
      audience: AUDIENCE,
      clockToleranceSeconds: 0,
    });
    expect(await strict.authenticate(bearer(justExpired))).toBeNull();
    const noExp = await new SignJWT({ akash_wallet: WALLET }).setProtectedHeader({ alg: "ES256" }).setSubject("a").setIssuer(ISSUER).setAudience(AUDIENCE).sign(es256.privateKey);
    expect(await source.authenticate(bearer(noExp))).toBeNull();
  });

  it("refuses symmetric and unsigned tokens, even an HS256 token keyed with the public key's PEM", async () => {
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(rsa.publicKey);
    const rsaSource = new JwtPrincipalSource({ key: { kind: "public-key", key: pem }, issuer: ISSUER, audience: AUDIENCE });
    expect(await rsaSource.authenticate(bearer(await sign(rsa.privateKey, "RS256", {})))).not.toBeNull();
    const confused = await sign(new TextEncoder().encode(pem) as unknown as CryptoKey, "HS256", {});
    expect(await rsaSource.authenticate(bearer(confused))).toBeNull();
    const [, payload] = confused.split(".");
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
    expect(await rsaSource.authenticate(bearer(unsigned))).toBeNull();
  });

  it("accepts a JWK as the key, EdDSA included, and a custom wallet and permissions claim", async () => {
    const ed = await generateKeyPair("EdDSA", { extractable: true });
    const edSource = new JwtPrincipalSource({
      key: { kind: "public-key", key: JSON.stringify(await exportJWK(ed.publicKey)) },
      issuer: [ISSUER, "https://other-idp/"],
      audience: AUDIENCE,
      walletClaim: "https://shell-exec/wallet",
      permissionsClaim: "roles",
    });
    const token = await sign(ed.privateKey, "EdDSA", { "https://shell-exec/wallet": WALLET, roles: ["audit:read"] }, { iss: "https://other-idp/" });
    expect(await edSource.authenticate(bearer(token))).toMatchObject({ wallet: WALLET, permissions: new Set(["audit:read"]) });
    // An ES256 token is refused by an Ed25519-keyed source: the algorithm list is narrowed to the key.
    expect(await edSource.authenticate(bearer(await sign(es256.privateKey, "ES256", { "https://shell-exec/wallet": WALLET })))).toBeNull();
  });

  it("leaves other credentials to other sources", async () => {
    expect(await source.authenticate({ authorization: undefined, apiKey: "x" })).toBeNull();
    expect(await source.authenticate({ authorization: "Basic dXNlcjpwYXNz", apiKey: undefined })).toBeNull();
    expect(await source.authenticate({ authorization: "Bearer not-a-jwt", apiKey: undefined })).toBeNull();
  });

  it("refuses private keys and keys that fit no allowed algorithm as configuration", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    expect(() => new JwtPrincipalSource({ key: { kind: "public-key", key: "x" }, issuer: ISSUER, audience: AUDIENCE })).toThrow();
    const pkcs8 = await exportPKCS8(privateKey);
    expect(() => new JwtPrincipalSource({ key: { kind: "public-key", key: pkcs8 }, issuer: ISSUER, audience: AUDIENCE })).toThrow(/public key only/);
    const jwk = await exportJWK(privateKey);
    expect(() => new JwtPrincipalSource({ key: { kind: "public-key", key: JSON.stringify(jwk) }, issuer: ISSUER, audience: AUDIENCE })).toThrow(/public key only/);
    const es256Pem = await exportSPKI(es256.publicKey);
    expect(() => new JwtPrincipalSource({ key: { kind: "public-key", key: es256Pem }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] })).toThrow(
      /fits none/,
    );
  });

  it("is configured from the environment, refusing half a configuration", async () => {
    expect(jwtPrincipalSourceFromEnv(jwtEnvSchema.parse({}))).toBeNull();
    const pem = await exportSPKI(es256.publicKey);
    expect(() => jwtPrincipalSourceFromEnv(jwtEnvSchema.parse({ SHELL_EXEC_JWT_PUBLIC_KEY: pem }))).toThrow(/SHELL_EXEC_JWT_ISSUER[\s\S]*SHELL_EXEC_JWT_AUDIENCE/);
    const fromEnv = jwtPrincipalSourceFromEnv(
      jwtEnvSchema.parse({ SHELL_EXEC_JWT_PUBLIC_KEY: pem, SHELL_EXEC_JWT_ISSUER: ISSUER, SHELL_EXEC_JWT_AUDIENCE: `x,${AUDIENCE}` }),
    );
    expect(await fromEnv!.authenticate(bearer(await sign(es256.privateKey, "ES256", {})))).not.toBeNull();
    expect(jwtEnvSchema.safeParse({ SHELL_EXEC_JWT_ALGORITHMS: "HS256" }).success).toBe(false);
  });
});

describe("JwtPrincipalSource with a JWKS served over HTTP", () => {
  let server: Server;
  let jwksUrl: URL;
  let es256: KeyPair;
  let rs256: KeyPair;
  let jwksRequests = 0;
  let jwksStatus = 200;

  beforeAll(async () => {
    es256 = await generateKeyPair("ES256", { extractable: true });
    rs256 = await generateKeyPair("RS256", { extractable: true });
    const keys = [
      { ...(await exportJWK(es256.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
      { ...(await exportJWK(rs256.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
    ];
    server = createServer((req, res) => {
      jwksRequests++;
      if (req.url !== "/.well-known/jwks.json" || jwksStatus !== 200) {
        res.writeHead(jwksStatus === 200 ? 404 : jwksStatus).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", connection: "close" }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("verifies tokens by kid from the fetched set and caches the set", async () => {
    const source = new JwtPrincipalSource({ key: { kind: "jwks", url: jwksUrl }, issuer: ISSUER, audience: AUDIENCE });
    const before = jwksRequests;
    expect(await source.authenticate(bearer(await sign(es256.privateKey, "ES256", {}, { kid: "ec-1" })))).toMatchObject({ id: "jwt:alice" });
    expect(await source.authenticate(bearer(await sign(rs256.privateKey, "RS256", {}, { kid: "rsa-1" })))).toMatchObject({ wallet: WALLET });
    expect(jwksRequests - before).toBe(1);
    // Signed by a key the set does not hold, under a kid it does: refused.
    const stranger = await generateKeyPair("ES256");
    expect(await source.authenticate(bearer(await sign(stranger.privateKey, "ES256", {}, { kid: "ec-1" })))).toBeNull();
    // A kid the set does not know: refused (401), not an outage.
    expect(await source.authenticate(bearer(await sign(stranger.privateKey, "ES256", {}, { kid: "unknown" })))).toBeNull();
  });

  it("answers 503 UNAVAILABLE, not 401, when the JWKS endpoint fails; the middleware turns refusals into 401", async () => {
    jwksStatus = 500;
    try {
      const source = new JwtPrincipalSource({ key: { kind: "jwks", url: jwksUrl }, issuer: ISSUER, audience: AUDIENCE });
      const token = await sign(es256.privateKey, "ES256", {}, { kid: "ec-1" });
      const error = await source.authenticate(bearer(token)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShellExecError);
      expect(error).toMatchObject({ code: "UNAVAILABLE", status: 503 });
    } finally {
      jwksStatus = 200;
    }

    const source = new JwtPrincipalSource({ key: { kind: "jwks", url: jwksUrl }, issuer: ISSUER, audience: AUDIENCE });
    const app = new Hono<AuthEnv>();
    app.onError((error, c) => c.json({ code: error instanceof ShellExecError ? error.code : "INTERNAL" }, error instanceof ShellExecError ? (error.status as 401) : 500));
    app.use("*", authenticate([source]));
    app.get("/whoami", (c) => c.json({ id: c.get("principal").id }));
    const ok = await app.request("/whoami", { headers: { authorization: `Bearer ${await sign(es256.privateKey, "ES256", {}, { kid: "ec-1" })}` } });
    expect(await ok.json()).toEqual({ id: "jwt:alice" });
    const expired = await sign(es256.privateKey, "ES256", {}, { kid: "ec-1", exp: Math.floor(Date.now() / 1000) - 3600 });
    const refused = await app.request("/whoami", { headers: { authorization: `Bearer ${expired}` } });
    expect(refused.status).toBe(401);
  });
});
