import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { ReplicaRuntime } from "../exec/replicas.ts";
import { closeServer, listen, trackSockets, urlHost } from "../net.ts";
import type { ChainState } from "../state.ts";
import {
  authenticate, authorizeForLeaseId, authorizeForProvider, authorizeLeaseForScope, extractBearerToken, GatewayHttpError,
  validateClientCertificate, AuthErrors, type Claims, type GatewayLeaseId,
} from "./auth.ts";
import { PRE_UPGRADE_FAULTS, type Fault } from "./faults.ts";
import { runShellSession, type ShellParams, type ShellStats } from "./lease-shell.ts";

/**
 * A provider gateway (akash-network/provider gateway/rest) for one provider: /version, /address, /status,
 * /lease/{dseq}/{gseq}/{oseq}/status and the lease shell, over HTTPS with the provider's self-signed certificate
 * (and optionally plain HTTP for local runs). Routing and answers follow gorilla/mux and the provider's middlewares:
 * an unrouted path is 404 "404 page not found", a routed path with another method 405 with no body, and every routed
 * request passes the auth middleware first.
 */

export interface GatewayOptions {
  address: string;
  state: ChainState;
  runtime: ReplicaRuntime;
  tls: { certPem: string; keyPem: string };
  pingIntervalMs: number;
  strictJwtSchema: boolean;
  stats: ShellStats;
  logger: Logger;
  /** The fault for this provider, or for the lease dseq/gseq/oseq named by a request path. */
  faultFor: (lease: { dseq: string; gseq: string; oseq: string } | null) => Fault | undefined;
}

/** A place to write an HTTP answer: a normal response, or the raw socket of an upgrade request. */
interface Reply {
  send(status: number, headers: Record<string, string>, body: string): void;
  destroy(): void;
}

const LEASE_PATH = /^\/lease\/([^/]+)\/([^/]+)\/([^/]+)\/(status|shell)$/;
const JSON_TYPE = "application/json; charset=UTF-8";

export class ProviderGateway {
  readonly #o: GatewayOptions;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 256 * 1024 * 1024 });
  readonly #servers: { server: Server; sockets: Set<Socket>; port: number; host: string }[] = [];
  readonly #stalled = new Set<Duplex>();
  #refusing = false;

  constructor(options: GatewayOptions) {
    this.#o = options;
  }

  async listen(options: { host: string; port: number; httpPort?: number }): Promise<{ url: string; httpUrl?: string }> {
    const https = createHttpsServer({
      cert: this.#o.tls.certPem,
      key: this.#o.tls.keyPem,
      minVersion: "TLSv1.3",
      requestCert: true,
      rejectUnauthorized: false,
    });
    https.on("secureConnection", (socket: TLSSocket) => {
      // The provider verifies a client certificate during the handshake (ValidatePeerCertificates): a bad one never
      // reaches HTTP.
      const certificate = socket.getPeerX509Certificate();
      if (certificate && !validateClientCertificate(this.#o.state, certificate)) socket.destroy();
    });
    https.on("tlsClientError", () => undefined);
    const url = `https://${urlHost(options.host)}:${await this.#attach(https, options.host, options.port)}`;
    if (options.httpPort === undefined) return { url };
    const http = createHttpServer();
    const httpUrl = `http://${urlHost(options.host)}:${await this.#attach(http, options.host, options.httpPort)}`;
    return { url, httpUrl };
  }

  async #attach(server: Server, host: string, port: number): Promise<number> {
    server.on("request", (request: IncomingMessage, response: ServerResponse) => this.#handle(request, responseReply(response), null));
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => undefined);
      this.#handle(request, socketReply(socket), { socket, head });
    });
    server.on("clientError", (_error, socket: Duplex) => socket.destroy());
    const sockets = trackSockets(server);
    const bound = await listen(server, port, host);
    this.#servers.push({ server, sockets, port: bound, host });
    return bound;
  }

  /** Provider-wide "refuse": stop listening (connections are refused) until cleared, then listen on the same ports. */
  async setRefusing(refusing: boolean): Promise<void> {
    if (refusing === this.#refusing) return;
    this.#refusing = refusing;
    for (const entry of this.#servers) {
      if (refusing) await new Promise<void>((resolve) => entry.server.close(() => resolve()));
      else await listen(entry.server, entry.port, entry.host);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#stalled) socket.destroy();
    this.#stalled.clear();
    await Promise.all(this.#servers.map(({ server, sockets }) => closeServer(server, sockets)));
  }

  #handle(request: IncomingMessage, reply: Reply, upgrade: { socket: Duplex; head: Buffer } | null): void {
    try {
      this.#route(request, reply, upgrade);
    } catch (error) {
      this.#o.logger.error({ err: error }, "gateway handler failed");
      reply.send(500, { "content-type": "text/plain; charset=utf-8" }, "internal error\n");
    }
  }

  #route(request: IncomingMessage, reply: Reply, upgrade: { socket: Duplex; head: Buffer } | null): void {
    const url = new URL(request.url ?? "/", "http://gateway.invalid");
    const path = url.pathname;
    const leaseMatch = LEASE_PATH.exec(path);
    const leaseIds = leaseMatch ? { dseq: leaseMatch[1]!, gseq: leaseMatch[2]!, oseq: leaseMatch[3]! } : null;

    const fault = this.#o.faultFor(leaseIds);
    if (fault && PRE_UPGRADE_FAULTS.has(fault.kind)) {
      if (fault.kind === "reset") return reply.destroy();
      if (fault.kind === "stall") {
        const socket = upgrade?.socket ?? request.socket;
        this.#stalled.add(socket);
        socket.once("close", () => this.#stalled.delete(socket));
        return;
      }
      if (fault.kind === "reject") {
        const body = fault.body ?? (fault.status === 401 ? JSON.stringify({ message: "unauthorized access" }) : "");
        return reply.send(fault.status, { "content-type": fault.contentType ?? (fault.status === 401 ? JSON_TYPE : "text/plain; charset=utf-8") }, body);
      }
    }

    const method = request.method ?? "GET";
    const isGet = method === "GET";
    const simple: Record<string, () => unknown> = {
      "/version": () => this.#version(),
      "/address": () => ({ address: this.#o.address }),
      "/status": () => this.#status(),
    };
    const simpleHandler = simple[path];
    if (simpleHandler) {
      if (!isGet) return reply.send(405, {}, "");
      if (this.#authenticate(request, reply) === null) return;
      return sendJson(reply, 200, simpleHandler());
    }
    if (!leaseMatch) return reply.send(404, textHeaders(), "404 page not found\n");
    const action = leaseMatch[4] as "status" | "shell";
    if (action === "status" && !isGet) return reply.send(405, {}, "");

    // prepareAuthMiddleware, authorizeProviderMiddleware, requireOwner
    const claims = this.#authenticate(request, reply);
    if (claims === null) return;
    if (!authorizeForProvider(claims, this.#o.address) || claims.iss === "") return sendAuthError(reply, AuthErrors.unauthorized());

    // requireLeaseID
    let lease: GatewayLeaseId;
    try {
      lease = {
        owner: claims.iss,
        dseq: parseGoUint(leaseIds!.dseq, 10, 64),
        gseq: Number(parseGoUint(leaseIds!.gseq, 10, 32)),
        oseq: Number(parseGoUint(leaseIds!.oseq, 10, 32)),
        provider: this.#o.address,
      };
    } catch (error) {
      return reply.send(400, textHeaders(), `${(error as Error).message}\n`);
    }
    if (!authorizeForLeaseId(claims, lease)) return sendAuthError(reply, AuthErrors.unauthorized());
    if (!authorizeLeaseForScope(claims, lease, action)) return sendAuthError(reply, AuthErrors.unauthorized());

    const record = this.#o.state.providerLease(this.#o.address, lease.owner, lease.dseq.toString(), lease.gseq, lease.oseq);
    if (action === "status") {
      // No manifest for the lease: 404 with no body.
      if (!record?.manifest) return reply.send(404, {}, "");
      return sendJson(reply, 200, leaseStatusBody(record));
    }

    // leaseShellHandler: parameter checks, all before the upgrade, each a 400 with no body.
    const params = parseShellParams(url.searchParams);
    if (params === null) return reply.send(400, {}, "");
    const refusal = gorillaUpgradeCheck(request, upgrade !== null);
    if (refusal) {
      return reply.send(refusal.status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "sec-websocket-version": "13" }, `${STATUS_CODES[refusal.status]}\n`);
    }
    const { socket, head } = upgrade!;
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      runShellSession({
        ws,
        socket,
        params,
        lease: record,
        runtime: this.#o.runtime,
        fault,
        pingIntervalMs: this.#o.pingIntervalMs,
        stats: this.#o.stats,
        logger: this.#o.logger,
      });
    });
  }

  #authenticate(request: IncomingMessage, reply: Reply): Claims | null {
    try {
      const token = extractBearerToken(request.headers.authorization);
      const tlsSocket = request.socket as Partial<TLSSocket>;
      const peer = typeof tlsSocket.getPeerX509Certificate === "function" ? tlsSocket.getPeerX509Certificate() : undefined;
      return authenticate({ state: this.#o.state, strictSchema: this.#o.strictJwtSchema }, peer, token);
    } catch (error) {
      if (error instanceof GatewayHttpError) {
        sendAuthError(reply, error);
        return null;
      }
      throw error;
    }
  }

  #version(): unknown {
    return {
      akash: {
        name: "provider-services",
        server_name: "provider-services",
        version: "v0.10.0-akash-sim",
        commit: "akash-sim",
        build_tags: "akash-sim",
        go: "go version go1.24 linux/amd64",
        build_deps: [],
        cosmos_sdk_version: "v0.53.0",
      },
      kube: {
        major: "1",
        minor: "31",
        gitVersion: "v1.31.0-akash-sim",
        gitCommit: "akash-sim",
        gitTreeState: "clean",
        buildDate: "2026-01-01T00:00:00Z",
        goVersion: "go1.24",
        compiler: "gc",
        platform: "linux/amd64",
      },
    };
  }

  #status(): unknown {
    const leases = this.#o.state.leases.filter((l) => l.id.provider === this.#o.address && l.manifest);
    return {
      cluster: {
        leases: leases.length,
        inventory: { active: [], available: { nodes: [], storage: [] } },
      },
      bidengine: { orders: 0 },
      manifest: { deployments: leases.length },
      cluster_public_hostname: "localhost",
      address: this.#o.address,
    };
  }
}

function leaseStatusBody(record: NonNullable<ReturnType<ChainState["providerLease"]>>): unknown {
  const services: Record<string, unknown> = {};
  for (const service of record.services.values()) {
    services[service.name] = {
      name: service.name,
      available: service.readyReplicas,
      total: service.replicas,
      uris: service.uris ?? null,
      observed_generation: 1,
      replicas: service.replicas,
      updated_replicas: service.replicas,
      ready_replicas: service.readyReplicas,
      available_replicas: service.readyReplicas,
    };
  }
  return { services, forwarded_ports: null, ips: null };
}

function parseShellParams(query: URLSearchParams): ShellParams | null {
  const get = (name: string) => query.get(name) ?? "";
  const argv: string[] = [];
  for (let i = 0; ; i++) {
    const value = get(`cmd${i}`);
    if (value === "") break;
    argv.push(value);
  }
  if (argv.length === 0) return null;
  const tty = get("tty");
  if (tty === "") return null;
  const service = get("service");
  if (service === "") return null;
  const stdin = get("stdin");
  if (stdin === "") return null;
  const podIndexText = get("podIndex");
  if (podIndexText === "") return null;
  let podIndex: number;
  try {
    podIndex = Number(parseGoUint(podIndexText, 0, 31));
  } catch {
    return null;
  }
  return { argv, service, stdin: stdin === "1", tty: tty === "1", podIndex };
}

/** gorilla/websocket Upgrader.Upgrade's checks, in its order; null when the upgrade can proceed. */
function gorillaUpgradeCheck(request: IncomingMessage, isUpgrade: boolean): { status: number } | null {
  const hasToken = (header: string | string[] | undefined, token: string) =>
    [header ?? []].flat().some((value) => value.split(",").some((part) => part.trim().toLowerCase() === token));
  if (!isUpgrade || !hasToken(request.headers.connection, "upgrade")) return { status: 400 };
  if (!hasToken(request.headers.upgrade, "websocket")) return { status: 400 };
  if (request.method !== "GET") return { status: 405 };
  if (!hasToken(request.headers["sec-websocket-version"], "13")) return { status: 400 };
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return { status: 403 };
    }
    if (originHost.toLowerCase() !== (request.headers.host ?? "").toLowerCase()) return { status: 403 };
  }
  const key = request.headers["sec-websocket-key"];
  if (typeof key !== "string" || Buffer.from(key, "base64").length !== 16 || !/^[A-Za-z0-9+/]{22}==$/.test(key)) return { status: 400 };
  return null;
}

class GoParseError extends Error {}

/**
 * strconv.ParseUint, with its error text. Base 0 reads a 0x/0o/0b/0 prefix and allows underscores between digits, as
 * Go does (the provider parses podIndex that way).
 */
export function parseGoUint(text: string, base: 0 | 10, bits: number): bigint {
  const fail = (reason: string) => new GoParseError(`strconv.ParseUint: parsing ${goQuote(text)}: ${reason}`);
  let digits = text;
  let radix = 10;
  let underscores = false;
  if (base === 0) {
    underscores = true;
    const lower = text.toLowerCase();
    if (lower.startsWith("0x")) [radix, digits] = [16, text.slice(2)];
    else if (lower.startsWith("0o")) [radix, digits] = [8, text.slice(2)];
    else if (lower.startsWith("0b")) [radix, digits] = [2, text.slice(2)];
    else if (text.length > 1 && text.startsWith("0")) [radix, digits] = [8, text.slice(1)];
  }
  if (underscores) {
    if (/^_|__|_$/.test(digits)) throw fail("invalid syntax");
    digits = digits.replace(/_/g, "");
  }
  const alphabet = "0123456789abcdef".slice(0, radix);
  if (digits === "" || ![...digits.toLowerCase()].every((c) => alphabet.includes(c))) throw fail("invalid syntax");
  let value = 0n;
  for (const c of digits.toLowerCase()) value = value * BigInt(radix) + BigInt(alphabet.indexOf(c));
  if (value >= 1n << BigInt(bits)) throw fail("value out of range");
  return value;
}

function goQuote(text: string): string {
  return JSON.stringify(text);
}

function textHeaders(): Record<string, string> {
  return { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" };
}

function sendJson(reply: Reply, status: number, body: unknown): void {
  reply.send(status, { "content-type": JSON_TYPE }, JSON.stringify(body));
}

/** DefaultErrorHandler: JSON {"message": ...} with the error's status. */
function sendAuthError(reply: Reply, error: GatewayHttpError): void {
  reply.send(error.status, { "content-type": "application/json" }, JSON.stringify({ message: error.message }));
}

function responseReply(response: ServerResponse): Reply {
  return {
    send(status, headers, body) {
      response.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) });
      response.end(body);
    },
    destroy() {
      response.socket?.destroy();
    },
  };
}

function socketReply(socket: Duplex): Reply {
  return {
    send(status, headers, body) {
      if (socket.destroyed) return;
      const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`];
      for (const [name, value] of Object.entries({ ...headers, "content-length": String(Buffer.byteLength(body)), connection: "close" })) {
        lines.push(`${name}: ${value}`);
      }
      socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
    },
    destroy() {
      socket.destroy();
    },
  };
}
