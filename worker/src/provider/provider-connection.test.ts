import { X509Certificate } from "node:crypto";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer, getCACertificates, setDefaultCACertificates, type Server as TlsServer, type TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ProviderAuth, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { openProviderSocket, ProviderSocketError, type ProviderSocketFailure } from "./provider-connection.ts";
import { assessPeerCertificate, certificatesInPem, isPinned } from "./provider-tls.ts";
import { makeTestCertificates, type KeyPair, type TestCertificates } from "./test-support/test-certificates.ts";

const jwt: ProviderAuth = { kind: "jwt", token: "t" };
const noPins: ProviderTlsPolicy = { onChainCertificatesPem: [] };

let certs: TestCertificates;
const defaultCAs = getCACertificates("default");
const opened: (NetServer | TlsServer)[] = [];
const sockets: Socket[] = [];

beforeAll(() => {
  certs = makeTestCertificates();
  // "CA-valid" means valid for Node's default trust store: put the test CA in it for this test process only.
  setDefaultCACertificates([...defaultCAs, certs.ca.certPem]);
});
afterAll(() => setDefaultCACertificates(defaultCAs));
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(opened.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

interface SeenByServer {
  servername: string | false | null | undefined;
  clientCertificate: Buffer | undefined;
}

async function tlsServer(identity: KeyPair, options: { requestCert?: boolean } = {}): Promise<{ url: URL; seen: SeenByServer[] }> {
  const seen: SeenByServer[] = [];
  const server = createTlsServer({ cert: identity.certPem, key: identity.keyPem, requestCert: options.requestCert ?? false, rejectUnauthorized: false }, (socket: TLSSocket) => {
    const peer = socket.getPeerX509Certificate();
    seen.push({ servername: socket.servername, clientCertificate: peer ? Buffer.from(peer.raw) : undefined });
    socket.on("error", () => undefined);
  });
  server.on("tlsClientError", () => undefined);
  opened.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`), seen };
}

async function silentTcpServer(): Promise<URL> {
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
  });
  opened.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function open(url: URL, tls: ProviderTlsPolicy = noPins, auth: ProviderAuth = jwt, timeoutMs = 5_000, signal?: AbortSignal): Promise<Socket> {
  const socket = await openProviderSocket({ url, auth, tls, timeoutMs, signal });
  sockets.push(socket);
  return socket;
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderSocketFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderSocketError);
    return (error as ProviderSocketError).failure;
  }
  throw new Error("expected the connection to fail");
}

describe("openProviderSocket: which certificates are trusted", () => {
  it("accepts a CA-valid certificate for the host", async () => {
    const { url } = await tlsServer(certs.caIssuedLocalhost);
    const socket = (await open(url)) as TLSSocket;
    expect(socket.authorized).toBe(true);
  });

  it("refuses a CA-issued certificate for another host, with Node's reason", async () => {
    const { url } = await tlsServer(certs.caIssuedOtherHost);
    const failure = await failureOf(open(url));
    expect(failure.kind).toBe("tls-untrusted");
    if (failure.kind === "tls-untrusted") expect(failure.error.verifyError).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("accepts a self-signed certificate byte-equal to one published on chain, without a hostname check", async () => {
    const { url } = await tlsServer(certs.providerSelfSigned);
    const socket = (await open(url, { onChainCertificatesPem: [certs.impostorSelfSigned.certPem, certs.providerSelfSigned.certPem] })) as TLSSocket;
    expect(socket.authorized).toBe(false);
  });

  it("accepts a pinned certificate even when it names another host", async () => {
    const { url } = await tlsServer(certs.caIssuedOtherHost);
    await expect(open(url, { onChainCertificatesPem: [certs.caIssuedOtherHost.certPem] })).resolves.toBeDefined();
  });

  it("refuses a self-signed certificate that is not on chain", async () => {
    const { url } = await tlsServer(certs.impostorSelfSigned);
    const failure = await failureOf(open(url, { onChainCertificatesPem: [certs.providerSelfSigned.certPem] }));
    expect(failure.kind).toBe("tls-untrusted");
    if (failure.kind === "tls-untrusted") {
      expect(failure.error.verifyError).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect(failure.error.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    }
  });

  it("refuses a pinned certificate outside its validity period", () => {
    const facts = { authorized: false, verifyError: "DEPTH_ZERO_SELF_SIGNED_CERT", certificate: new X509Certificate(certs.providerSelfSigned.certPem) };
    const policy = { onChainCertificatesPem: [certs.providerSelfSigned.certPem] };
    expect(assessPeerCertificate(facts, policy)).toEqual({ trusted: true, via: "on-chain" });
    const later = assessPeerCertificate(facts, policy, new Date(Date.now() + 10 * 24 * 3600 * 1000));
    expect(later.trusted).toBe(false);
    if (!later.trusted) expect(later.error.message).toMatch(/validity period/);
    expect(assessPeerCertificate({ ...facts, certificate: undefined }, policy).trusted).toBe(false);
  });

  it("accepts anything with insecureSkipVerify", async () => {
    const { url } = await tlsServer(certs.impostorSelfSigned);
    await expect(open(url, { onChainCertificatesPem: [], insecureSkipVerify: true })).resolves.toBeDefined();
  });

  it("presents the client certificate for mTLS, with the mtls. SNI chain-sdk uses", async () => {
    const { url, seen } = await tlsServer(certs.providerSelfSigned, { requestCert: true });
    const mtls: ProviderAuth = { kind: "mtls", certPem: certs.client.certPem, keyPem: certs.client.keyPem };
    await open(url, { onChainCertificatesPem: [certs.providerSelfSigned.certPem] }, mtls);
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]!.servername).toBe("mtls.127.0.0.1");
    expect(seen[0]!.clientCertificate!.equals(certificatesInPem(certs.client.certPem)[0]!)).toBe(true);
  });

  it("sends no client certificate and no IP SNI with JWT auth", async () => {
    const { url, seen } = await tlsServer(certs.caIssuedLocalhost, { requestCert: true });
    await open(url);
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]!.servername).toBeFalsy();
    expect(seen[0]!.clientCertificate).toBeUndefined();
  });
});

describe("openProviderSocket: unreachable", () => {
  it("reports a refused connection", async () => {
    const port = await closedPort();
    const failure = await failureOf(open(new URL(`https://127.0.0.1:${port}`)));
    expect(failure).toMatchObject({ kind: "unreachable", reason: "refused" });
  });

  it("reports an unknown host", async () => {
    const failure = await failureOf(open(new URL("https://shell-exec-test.invalid:8443")));
    expect(failure).toMatchObject({ kind: "unreachable", reason: "dns" });
  });

  it("gives up on a TLS handshake that never completes, within the timeout", async () => {
    const url = await silentTcpServer();
    const started = performance.now();
    const failure = await failureOf(open(url, noPins, jwt, 300));
    expect(failure).toMatchObject({ kind: "unreachable", reason: "timeout" });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("stops at once when aborted", async () => {
    const url = await silentTcpServer();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(await failureOf(open(url, noPins, jwt, 10_000, controller.signal))).toEqual({ kind: "aborted" });
  });

  it("connects plain TCP for http://", async () => {
    const server = createNetServer((socket) => sockets.push(socket));
    opened.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const socket = await open(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    expect("encrypted" in socket).toBe(false);
  });
});

describe("certificate pins", () => {
  it("match DER byte for byte and ignore garbage", () => {
    const der = certificatesInPem(certs.providerSelfSigned.certPem)[0]!;
    expect(isPinned(der, [certs.providerSelfSigned.certPem])).toBe(true);
    expect(isPinned(der, [`garbage\n${certs.impostorSelfSigned.certPem}`, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"])).toBe(false);
    expect(isPinned(der, [`${certs.impostorSelfSigned.certPem}\n${certs.providerSelfSigned.certPem}`])).toBe(true);
    const flipped = Buffer.from(der);
    flipped[flipped.length - 1]! ^= 1;
    expect(isPinned(flipped, [certs.providerSelfSigned.certPem])).toBe(false);
  });
});
