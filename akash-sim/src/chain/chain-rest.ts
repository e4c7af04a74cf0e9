import type { IncomingMessage, ServerResponse } from "node:http";
import { isAkashAddress } from "../bech32.ts";
import { certificateStates, leaseStates, type CertificateStateName, type LeaseStateName } from "../seed.ts";
import { type ChainState, type LeaseId, type LeaseRecord } from "../state.ts";

/**
 * The chain REST (LCD) queries shell-exec uses, answered as cosmos gRPC-gateway does: snake_case names, 64-bit
 * integers as strings, enums as lowercase names, unpopulated fields emitted (null, [], "0"), errors as
 * `{"code":<gRPC code>,"message":...,"details":[]}` with the gateway's HTTP status for that code. Behaviour follows
 * akash-network/node x/{deployment,market,provider,cert}/keeper/grpc_query.go and cosmos-sdk x/auth.
 */

/** cosmos-sdk query.DefaultLimit */
const DEFAULT_LIMIT = 100;

/** grpc-gateway's runtime.HTTPStatusFromCode */
const HTTP_STATUS_FROM_GRPC: Record<number, number> = {
  0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500,
  14: 503, 15: 500, 16: 401,
};

export const GrpcCode = { Unknown: 2, InvalidArgument: 3, NotFound: 5, Unimplemented: 12, Internal: 13 } as const;

export class GrpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

type Handler = (state: ChainState, query: URLSearchParams, params: string[]) => unknown;

const ROUTES: { pattern: RegExp; handler: Handler }[] = [
  { pattern: /^\/akash\/deployment\/v1beta4\/deployments\/info$/, handler: deploymentInfo },
  { pattern: /^\/akash\/market\/v1beta5\/leases\/list$/, handler: leasesList },
  { pattern: /^\/akash\/provider\/v1beta4\/providers\/([^/]+)$/, handler: providerInfo },
  { pattern: /^\/cosmos\/auth\/v1beta1\/accounts\/([^/]+)$/, handler: accountInfo },
  { pattern: /^\/akash\/cert\/v1\/certificates\/list$/, handler: certificatesList },
];

export interface ChainFaults {
  /** Every chain query answers this gRPC error (e.g. 13 → HTTP 500): the chain is "down". */
  error?: { code: number; message: string };
  /** Delay before every answer. */
  delayMs?: number;
}

export function createChainRestHandler(state: ChainState, faults: () => ChainFaults) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? "/", "http://chain.invalid");
    const answer = () => {
      const fault = faults().error;
      if (fault) return sendGrpcError(response, new GrpcError(fault.code, fault.message));
      for (const route of ROUTES) {
        const match = route.pattern.exec(url.pathname);
        if (!match) continue;
        if (request.method !== "GET" && request.method !== "HEAD") {
          return sendGrpcError(response, new GrpcError(GrpcCode.Unimplemented, "Method Not Allowed"));
        }
        try {
          const params = match.slice(1).map((p) => decodeURIComponent(p));
          return sendJson(response, 200, route.handler(state, url.searchParams, params));
        } catch (error) {
          if (error instanceof GrpcError) return sendGrpcError(response, error);
          return sendGrpcError(response, new GrpcError(GrpcCode.Internal, error instanceof Error ? error.message : String(error)));
        }
      }
      // grpc-gateway's answer for a path it does not route.
      return sendGrpcError(response, new GrpcError(GrpcCode.NotFound, "Not Found"));
    };
    const delayMs = faults().delayMs ?? 0;
    if (delayMs > 0) setTimeout(answer, delayMs).unref();
    else answer();
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function sendGrpcError(response: ServerResponse, error: GrpcError): void {
  sendJson(response, HTTP_STATUS_FROM_GRPC[error.code] ?? 500, { code: error.code, message: error.message, details: [] });
}

// ---- query parameter parsing, as grpc-gateway's PopulateQueryParameters does it ----

function typeMismatch(parameter: string, detail: string): GrpcError {
  return new GrpcError(GrpcCode.InvalidArgument, `type mismatch, parameter: ${parameter}, error: ${detail}`);
}

function uintParam(query: URLSearchParams, name: string, bits: 32 | 64): bigint {
  const raw = query.get(name);
  if (raw === null || raw === "") return 0n;
  if (!/^\d+$/.test(raw)) throw typeMismatch(name, `strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  const value = BigInt(raw);
  if (value >= 1n << BigInt(bits)) throw typeMismatch(name, `strconv.ParseUint: parsing ${JSON.stringify(raw)}: value out of range`);
  return value;
}

function stringParam(query: URLSearchParams, name: string): string {
  return query.get(name) ?? "";
}

interface Page {
  limit: number;
  key: string | null;
  offset: number;
}

function pageParams(query: URLSearchParams): Page {
  const limit = Number(uintParam(query, "pagination.limit", 64));
  const offset = Number(uintParam(query, "pagination.offset", 64));
  const rawKey = query.get("pagination.key");
  let key: string | null = null;
  if (rawKey) {
    const bytes = Buffer.from(rawKey.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (bytes.length === 0) throw typeMismatch("pagination.key", "illegal base64 data at input byte 0");
    key = bytes.toString("utf8");
  }
  return { limit: limit === 0 ? DEFAULT_LIMIT : limit, key, offset };
}

/**
 * Pages through `items` (already in key order, already filtered) the way the keeper does: skip `offset`, take
 * `limit`, and when one more item exists, its key is next_key. `total` is the number returned.
 */
function paginate<T>(items: T[], page: Page, keyOf: (item: T) => string) {
  let start = 0;
  if (page.key !== null) {
    const resumeKey = page.key;
    start = items.findIndex((item) => keyOf(item) >= resumeKey);
    if (start < 0) start = items.length;
  }
  start += page.offset;
  const taken = items.slice(start, start + page.limit);
  const next = items[start + page.limit];
  return {
    items: taken,
    pagination: {
      next_key: next === undefined ? null : Buffer.from(keyOf(next)).toString("base64"),
      total: String(taken.length),
    },
  };
}

// ---- handlers ----

function deploymentInfo(state: ChainState, query: URLSearchParams): unknown {
  const owner = stringParam(query, "id.owner");
  const dseq = uintParam(query, "id.dseq", 64).toString();
  if (!isAkashAddress(owner)) throw new GrpcError(GrpcCode.InvalidArgument, "invalid owner address");
  const deployment = state.getDeployment(owner, dseq);
  if (!deployment) throw new GrpcError(GrpcCode.NotFound, "codespace deployment code 4: Deployment not found");
  const leases = state.leases.filter((l) => l.id.owner === owner && l.id.dseq === dseq);
  const gseqs = [...new Set(leases.map((l) => l.id.gseq))].sort((a, b) => a - b);
  const xid = `${owner}/${dseq}`;
  return {
    deployment: {
      id: { owner, dseq },
      state: deployment.state,
      hash: deployment.hash,
      created_at: String(deployment.createdAt),
    },
    groups: gseqs.map((gseq) => {
      const groupLeases = leases.filter((l) => l.id.gseq === gseq);
      const open = groupLeases.some((l) => l.state === "active" || l.state === "insufficient_funds");
      return {
        id: { owner, dseq, gseq },
        state: deployment.state === "closed" ? "closed" : open ? "open" : "closed",
        group_spec: {
          name: `group-${gseq}`,
          requirements: { signed_by: { all_of: [], any_of: [] }, attributes: [] },
          resources: [],
        },
        created_at: String(deployment.createdAt),
      };
    }),
    escrow_account: {
      id: { scope: "deployment", xid },
      state: {
        owner,
        state: deployment.state === "active" ? "open" : "closed",
        transferred: [],
        settled_at: String(state.height),
        funds: [{ denom: "uakt", amount: "5000000.000000000000000000" }],
        deposits: [],
      },
    },
  };
}

function leasesList(state: ChainState, query: URLSearchParams): unknown {
  const filters = {
    owner: stringParam(query, "filters.owner"),
    dseq: uintParam(query, "filters.dseq", 64).toString(),
    gseq: Number(uintParam(query, "filters.gseq", 32)),
    oseq: Number(uintParam(query, "filters.oseq", 32)),
    provider: stringParam(query, "filters.provider"),
    state: stringParam(query, "filters.state"),
    bseq: Number(uintParam(query, "filters.bseq", 32)),
  };
  const page = pageParams(query);
  if (page.offset > 0 && filters.state === "") {
    throw new GrpcError(GrpcCode.InvalidArgument, "invalid request parameters. if offset is set, filter.state must be provided");
  }
  let states: readonly LeaseStateName[] = leaseStates;
  if (filters.state !== "") {
    if (!(leaseStates as readonly string[]).includes(filters.state)) {
      throw new GrpcError(GrpcCode.InvalidArgument, "invalid state value");
    }
    states = [filters.state as LeaseStateName];
  }
  const matching = state.leases.filter(
    (l) =>
      states.includes(l.state) &&
      (filters.owner === "" || l.id.owner === filters.owner) &&
      (filters.dseq === "0" || l.id.dseq === filters.dseq) &&
      (filters.gseq === 0 || l.id.gseq === filters.gseq) &&
      (filters.oseq === 0 || l.id.oseq === filters.oseq) &&
      (filters.provider === "" || l.id.provider === filters.provider),
  );
  const { items, pagination } = paginate(matching, page, (l) => leaseKey(l.id));
  return { leases: items.map((lease) => leaseJson(lease)), pagination };
}

/** A sortable primary key (owner, dseq, gseq, oseq, provider). */
function leaseKey(id: LeaseId): string {
  return [id.owner, id.dseq.padStart(20, "0"), String(id.gseq).padStart(10, "0"), String(id.oseq).padStart(10, "0"), id.provider].join("/");
}

export function leaseJson(lease: LeaseRecord): unknown {
  const { id } = lease;
  const open = lease.state === "active" || lease.state === "insufficient_funds";
  return {
    lease: {
      id: { owner: id.owner, dseq: id.dseq, gseq: id.gseq, oseq: id.oseq, provider: id.provider, bseq: id.bseq },
      state: lease.state,
      price: lease.price,
      created_at: String(lease.createdAt),
      closed_on: String(lease.closedOn),
      reason: lease.state === "closed" ? "lease_closed_owner" : "lease_closed_invalid",
    },
    escrow_payment: {
      id: { aid: { scope: "deployment", xid: `${id.owner}/${id.dseq}` }, xid: `${id.gseq}/${id.oseq}/${id.provider}` },
      state: {
        owner: id.provider,
        state: open ? "open" : lease.state === "closed" ? "closed" : "overdrawn",
        rate: lease.price,
        balance: { denom: lease.price.denom, amount: "0.000000000000000000" },
        unsettled: { denom: lease.price.denom, amount: "0.000000000000000000" },
        withdrawn: { denom: lease.price.denom, amount: "0" },
      },
    },
  };
}

function providerInfo(state: ChainState, _query: URLSearchParams, [address = ""]: string[]): unknown {
  if (!isAkashAddress(address)) throw new GrpcError(GrpcCode.InvalidArgument, "codespace provider code 5: invalid address");
  const provider = state.providers.get(address);
  if (!provider) throw new GrpcError(GrpcCode.NotFound, "codespace provider code 3: invalid provider: address not found");
  return {
    provider: { owner: provider.address, host_uri: provider.hostUri, attributes: provider.attributes, info: provider.info },
  };
}

function accountInfo(state: ChainState, _query: URLSearchParams, [address = ""]: string[]): unknown {
  if (!isAkashAddress(address)) {
    throw new GrpcError(GrpcCode.Unknown, `decoding bech32 failed: invalid bech32 string ${JSON.stringify(address)}`);
  }
  const account = state.accounts.get(address);
  if (!account) throw new GrpcError(GrpcCode.NotFound, `account ${address} not found`);
  return {
    account: {
      "@type": "/cosmos.auth.v1beta1.BaseAccount",
      address: account.address,
      pub_key: account.publicKey
        ? { "@type": "/cosmos.crypto.secp256k1.PubKey", key: Buffer.from(account.publicKey).toString("base64") }
        : null,
      account_number: account.accountNumber,
      sequence: account.sequence,
    },
  };
}

function certificatesList(state: ChainState, query: URLSearchParams): unknown {
  const owner = stringParam(query, "filter.owner");
  const serial = stringParam(query, "filter.serial");
  const stateFilter = stringParam(query, "filter.state");
  const page = pageParams(query);
  if (page.offset > 0 && stateFilter === "") {
    throw new GrpcError(GrpcCode.InvalidArgument, "invalid request parameters. if offset is set, filter.state must be provided");
  }
  let states: readonly CertificateStateName[] = certificateStates;
  if (stateFilter !== "") {
    if (!(certificateStates as readonly string[]).includes(stateFilter)) {
      throw new GrpcError(GrpcCode.InvalidArgument, "invalid state value");
    }
    states = [stateFilter as CertificateStateName];
  }
  if (owner !== "" && !isAkashAddress(owner)) {
    throw new GrpcError(GrpcCode.Internal, "decoding bech32 failed: invalid owner address");
  }
  // The keeper walks the valid store, then the revoked one, each in (owner, serial) order.
  const matching = states.flatMap((s) =>
    state.certificates
      .filter((c) => c.state === s && (owner === "" || c.owner === owner) && (serial === "" || c.serial === serial))
      .sort((a, b) => (a.owner === b.owner ? compareDecimal(a.serial, b.serial) : a.owner < b.owner ? -1 : 1)),
  );
  const { items, pagination } = paginate(matching, page, (c) => `${states.indexOf(c.state)}/${c.owner}/${c.serial.padStart(80, "0")}`);
  return {
    certificates: items.map((c) => ({
      certificate: {
        state: c.state,
        cert: Buffer.from(c.pem).toString("base64"),
        pubkey: Buffer.from(c.pubkeyPem).toString("base64"),
      },
      serial: c.serial,
    })),
    pagination,
  };
}

function compareDecimal(a: string, b: string): number {
  const diff = BigInt(a) - BigInt(b);
  return diff === 0n ? 0 : diff < 0n ? -1 : 1;
}

