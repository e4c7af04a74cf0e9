import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ProviderAuth } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { getLeaseStatus, interpretStatusResponse, type LeaseStatusQuery, type LeaseStatusResult } from "./lease-status-client.ts";
import { checkLeaseReadiness, LeaseStatusCache } from "./lease-status-cache.ts";
import { makeTestCertificates, type TestCertificates } from "./test-support/test-certificates.ts";

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});

const statusBody = {
  services: { web: { name: "web", available: 1, total: 1, uris: null, observed_generation: 1, replicas: 1, updated_replicas: 1, ready_replicas: 1, available_replicas: 1 } },
  forwarded_ports: null,
  ips: null,
};

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

async function listen(server: Server, scheme: "http" | "https"): Promise<string> {
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const jwt: ProviderAuth = { kind: "jwt", token: "status-token" };

function query(hostUri: string, patch: Partial<LeaseStatusQuery> = {}): LeaseStatusQuery {
  return { hostUri, dseq: "77", gseq: 1, oseq: 2, auth: jwt, tls: { onChainCertificatesPem: [] }, timeoutMs: 2_000, ...patch };
}

function failureCode(result: LeaseStatusResult): string {
  return result.ok ? "ok" : result.code;
}

describe("getLeaseStatus", () => {
  it("GETs /lease/{dseq}/{gseq}/{oseq}/status with the bearer token and parses the answer", async () => {
    const seen: IncomingMessage[] = [];
    const hostUri = await listen(
      createServer((request, response) => {
        seen.push(request);
        response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(statusBody));
      }),
      "http",
    );
    const result = await getLeaseStatus(query(hostUri));
    expect(result).toEqual({ ok: true, status: statusBody });
    expect(seen[0]!.url).toBe("/lease/77/1/2/status");
    expect(seen[0]!.method).toBe("GET");
    expect(seen[0]!.headers.authorization).toBe("Bearer status-token");
  });

  it("works over HTTPS with the provider's on-chain certificate, and refuses an unknown one", async () => {
    const hostUri = await listen(
      createHttpsServer({ cert: certs.providerSelfSigned.certPem, key: certs.providerSelfSigned.keyPem }, (_request, response) => {
        response.writeHead(200).end(JSON.stringify(statusBody));
      }),
      "https",
    );
    expect((await getLeaseStatus(query(hostUri, { tls: { onChainCertificatesPem: [certs.providerSelfSigned.certPem] } }))).ok).toBe(true);
    const refused = await getLeaseStatus(query(hostUri, { tls: { onChainCertificatesPem: [certs.impostorSelfSigned.certPem] } }));
    expect(failureCode(refused)).toBe("PROVIDER_TLS_UNTRUSTED");
  });

  it.each<[string, Handler, string, number | undefined]>([
    ["404 (no manifest)", (_q, r) => r.writeHead(404).end(), "LEASE_GONE", 404],
    ["401", (_q, r) => r.writeHead(401).end('{"message":"unauthorized access"}'), "PROVIDER_AUTH_FAILED", 401],
    ["403", (_q, r) => r.writeHead(403).end(), "PROVIDER_AUTH_FAILED", 403],
    ["400", (_q, r) => r.writeHead(400).end('{"message":"ambiguous authentication"}'), "PROVIDER_REJECTED", 400],
    ["500", (_q, r) => r.writeHead(500).end("kube: internal error"), "PROVIDER_UNREACHABLE", 500],
    ["not JSON", (_q, r) => r.writeHead(200).end("<html>"), "PROVIDER_PROTOCOL_ERROR", 200],
    ["wrong shape", (_q, r) => r.writeHead(200).end('{"services":{"web":{"available":"yes"}}}'), "PROVIDER_PROTOCOL_ERROR", 200],
    ["oversize", (_q, r) => r.writeHead(200).end(Buffer.alloc(2 * 1024 * 1024, 0x20)), "PROVIDER_PROTOCOL_ERROR", 200],
  ])("maps %s", async (_name, handler, code, httpStatus) => {
    const hostUri = await listen(createServer(handler), "http");
    const result = await getLeaseStatus(query(hostUri));
    expect(failureCode(result)).toBe(code);
    if (!result.ok) expect(result.httpStatus).toBe(httpStatus);
  });

  it("keeps the provider's message", async () => {
    const hostUri = await listen(createServer((_q, r) => r.writeHead(401).end('{"message":"JWT is expired"}')), "http");
    expect(await getLeaseStatus(query(hostUri))).toMatchObject({ ok: false, code: "PROVIDER_AUTH_FAILED", providerMessage: "JWT is expired" });
  });

  it("reports a refused connection and a silent provider as unreachable, within the timeout", async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expect(failureCode(await getLeaseStatus(query(`http://127.0.0.1:${port}`)))).toBe("PROVIDER_UNREACHABLE");

    const silent = await listen(createServer(() => undefined), "http");
    const started = performance.now();
    const result = await getLeaseStatus(query(silent, { timeoutMs: 300 }));
    expect(failureCode(result)).toBe("PROVIDER_UNREACHABLE");
    expect(!result.ok && result.message).toMatch(/300 ms/);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("interprets answers without a network", () => {
    expect(interpretStatusResponse({ status: 200, body: Buffer.from(JSON.stringify(statusBody)), oversize: false }).ok).toBe(true);
    expect(failureCode(interpretStatusResponse({ status: 418, body: Buffer.alloc(0), oversize: false }))).toBe("PROVIDER_REJECTED");
  });
});

describe("LeaseStatusCache", () => {
  function countingLoader(results: LeaseStatusResult[]) {
    const calls: LeaseStatusQuery[] = [];
    const load = async (q: LeaseStatusQuery): Promise<LeaseStatusResult> => {
      calls.push(q);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return results[Math.min(calls.length - 1, results.length - 1)]!;
    };
    return { calls, load };
  }
  const ok: LeaseStatusResult = { ok: true, status: { services: {} } };
  const gone: LeaseStatusResult = { ok: false, code: "LEASE_GONE", message: "gone", httpStatus: 404 };
  const key = { hostUri: "https://p:8443", dseq: "1", gseq: 1, oseq: 1, auth: jwt, tls: { onChainCertificatesPem: [] } };

  it("shares one request among concurrent callers and reuses a success until the TTL passes", async () => {
    let clock = 0;
    const { calls, load } = countingLoader([ok]);
    const cache = new LeaseStatusCache({ load, ttlMs: 1_000, now: () => clock, timeoutMs: 1234 });
    await Promise.all([cache.get(key), cache.get(key), cache.get(key)]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.timeoutMs).toBe(1234);
    clock = 999;
    await cache.get(key);
    expect(calls).toHaveLength(1);
    clock = 1_001;
    await cache.get(key);
    expect(calls).toHaveLength(2);
  });

  it("does not keep failures", async () => {
    const { calls, load } = countingLoader([gone, ok]);
    const cache = new LeaseStatusCache({ load });
    expect((await cache.get(key)).ok).toBe(false);
    expect((await cache.get(key)).ok).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it("keys by lease and credentials (the provider takes the owner from them)", async () => {
    const { calls, load } = countingLoader([ok]);
    const cache = new LeaseStatusCache({ load });
    await cache.get(key);
    await cache.get({ ...key, auth: { kind: "jwt", token: "another wallet" } });
    await cache.get({ ...key, oseq: 2 });
    await cache.get(key);
    expect(calls).toHaveLength(3);
  });

  it("stays within maxEntries", async () => {
    const { load } = countingLoader([ok]);
    const cache = new LeaseStatusCache({ load, maxEntries: 5 });
    for (let dseq = 1; dseq <= 20; dseq++) await cache.get({ ...key, dseq: String(dseq) });
    expect(cache.size).toBe(5);
  });

  it("checkLeaseReadiness: null when ready, the reason otherwise, never 'may have run'", async () => {
    const ready: LeaseStatusResult = { ok: true, status: { services: { web: { available: 1, total: 1, ready_replicas: 1 } } } };
    const cache = new LeaseStatusCache({ load: () => Promise.resolve(ready) });
    const input = { ...key, service: "web", podIndex: 0 };
    expect(await checkLeaseReadiness(cache, input)).toBeNull();
    expect(await checkLeaseReadiness(cache, { ...input, service: "db" })).toMatchObject({ code: "SERVICE_NOT_FOUND", commandMayHaveRun: false });
    const goneCache = new LeaseStatusCache({ load: () => Promise.resolve(gone) });
    expect(await checkLeaseReadiness(goneCache, input)).toMatchObject({ code: "LEASE_GONE", commandMayHaveRun: false });
  });
});
