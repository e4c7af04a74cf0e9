import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ChainUnavailableError } from "../errors.ts";
import { ChainRestClient } from "./chain-client.ts";

/**
 * The client against a scripted LCD on a real socket: the failures a real chain endpoint produces (5xx, an LCD without
 * the module version, garbage, silence, endless pagination) that a faithful simulator has no reason to.
 */
type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const OWNER = "akash1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu";
let server: Server | undefined;

async function startLcd(handler: Handler): Promise<{ baseUrl: string; requests: URL[] }> {
  const requests: URL[] = [];
  server = createServer((request, response) => {
    requests.push(new URL(request.url ?? "/", "http://lcd"));
    handler(request, response);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
});

async function chainError(promise: Promise<unknown>): Promise<ChainUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ChainUnavailableError);
  return error as ChainUnavailableError;
}

describe("ChainRestClient against a misbehaving LCD", () => {
  it("treats a 5xx as the chain being unavailable, with the gRPC message", async () => {
    const lcd = await startLcd((_req, res) => json(res, 500, { code: 2, message: "store is pruned", details: [] }));
    const error = await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl }).getDeployment(OWNER, "1"));
    expect(error.message).toContain("HTTP 500");
    expect(error.message).toContain("store is pruned");
    expect(error.code).toBe("CHAIN_UNAVAILABLE");
  });

  it("does not read grpc-gateway's 404 for an unrouted path as 'deployment not found'", async () => {
    const lcd = await startLcd((_req, res) => json(res, 404, { code: 5, message: "Not Found", details: [] }));
    await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl }).getDeployment(OWNER, "1"));
  });

  it("reads 404 with gRPC code 5 and a record message as not found", async () => {
    const lcd = await startLcd((_req, res) =>
      json(res, 404, { code: 5, message: "codespace deployment code 4: Deployment not found", details: [] }),
    );
    await expect(new ChainRestClient({ baseUrl: lcd.baseUrl }).getDeployment(OWNER, "1")).resolves.toBeNull();
  });

  it("treats a 404 on a list query, and a 404 without a gRPC body, as unavailable", async () => {
    const lcd = await startLcd((_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("404 page not found");
    });
    const client = new ChainRestClient({ baseUrl: lcd.baseUrl });
    await chainError(client.getProvider(OWNER));
    await chainError(client.listLeases({ owner: OWNER, dseq: "1" }));
  });

  it("treats a 4xx rejection as unavailable, not as an empty answer", async () => {
    const lcd = await startLcd((_req, res) => json(res, 400, { code: 3, message: "invalid state value", details: [] }));
    const error = await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl }).listLeases({ owner: OWNER, dseq: "1" }));
    expect(error.message).toContain("invalid state value");
  });

  it("rejects a body that is not JSON, or JSON without the fields it uses", async () => {
    let body = "<html>maintenance</html>";
    const lcd = await startLcd((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(body);
    });
    const client = new ChainRestClient({ baseUrl: lcd.baseUrl });
    await chainError(client.getDeployment(OWNER, "1"));
    body = JSON.stringify({ deployment: { id: { owner: OWNER, dseq: 1 }, state: "active" } }); // dseq must be a string
    await chainError(client.getDeployment(OWNER, "1"));
    body = JSON.stringify({ provider: { owner: OWNER, host_uri: "ftp://provider.example.com", attributes: [] } });
    await chainError(client.getProvider(OWNER));
  });

  it("rejects an answer about another deployment than the one asked for", async () => {
    const lcd = await startLcd((_req, res) =>
      json(res, 200, { deployment: { id: { owner: OWNER, dseq: "2" }, state: "active" }, groups: [] }),
    );
    await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl }).getDeployment(OWNER, "1"));
  });

  it("times out a silent endpoint", async () => {
    const lcd = await startLcd(() => {
      // Never answers; the connection is closed in afterEach.
    });
    const started = performance.now();
    const error = await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl, timeoutMs: 200 }).getDeployment(OWNER, "1"));
    expect(error.message).toContain("timed out after 200 ms");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("reports a refused connection as unavailable", async () => {
    const lcd = await startLcd((_req, res) => json(res, 200, {}));
    server!.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const error = await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl }).getDeployment(OWNER, "1"));
    expect(error.message).toMatch(/unreachable: .*\(ECONNREFUSED\)/);
    // The base URL (hosted LCDs carry API keys in it) stays out of a message that may reach API clients.
    expect(error.message).not.toContain(lcd.baseUrl);
    expect(error.message).not.toContain("127.0.0.1");
  });

  it("refuses a body larger than maxResponseBytes", async () => {
    const lcd = await startLcd((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ leases: [], pagination: null, padding: "x".repeat(200_000) }));
    });
    const error = await chainError(
      new ChainRestClient({ baseUrl: lcd.baseUrl, maxResponseBytes: 64 * 1024 }).listLeases({ owner: OWNER, dseq: "1" }),
    );
    expect(error.message).toContain("exceeded");
  });

  it("stops following a next_key that repeats", async () => {
    const lcd = await startLcd((_req, res) => json(res, 200, { leases: [], pagination: { next_key: "AAE=", total: "0" } }));
    const error = await chainError(new ChainRestClient({ baseUrl: lcd.baseUrl }).listLeases({ owner: OWNER, dseq: "1" }));
    expect(error.message).toContain("does not end");
    expect(lcd.requests).toHaveLength(2);
  });

  it("sends the spec's paths and parameters, keeps a base path, and passes next_key back verbatim", async () => {
    const lcd = await startLcd((req, res) => {
      const url = new URL(req.url ?? "/", "http://lcd");
      // A base64 key with '+', '/' and '=' must survive the query string.
      if (!url.searchParams.has("pagination.key")) {
        json(res, 200, { leases: [], pagination: { next_key: "a+b/c=", total: "0" } });
      } else {
        json(res, 200, { leases: [], pagination: { next_key: null, total: "0" } });
      }
    });
    const client = new ChainRestClient({ baseUrl: `${lcd.baseUrl}/rest/` });
    await client.listLeases({ owner: OWNER, dseq: "42", gseq: 1, oseq: 2, state: "active" });
    expect(lcd.requests.map((url) => url.pathname)).toEqual([
      "/rest/akash/market/v1beta5/leases/list",
      "/rest/akash/market/v1beta5/leases/list",
    ]);
    const [first, second] = lcd.requests.map((url) => Object.fromEntries(url.searchParams));
    expect(first).toEqual({
      "filters.owner": OWNER,
      "filters.dseq": "42",
      "filters.gseq": "1",
      "filters.oseq": "2",
      "filters.state": "active",
      "pagination.limit": "100",
    });
    expect(second).toEqual({ ...first, "pagination.key": "a+b/c=" });
  });
});
