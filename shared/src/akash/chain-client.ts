import { z } from "zod";
import { ChainUnavailableError } from "../errors.ts";

/**
 * A read-only client for the chain REST (LCD, cosmos gRPC-gateway JSON) queries shell-exec needs: deployment v1beta4,
 * market v1beta5, provider v1beta4, cosmos auth v1beta1, cert v1. Every body is parsed with zod: extra fields are
 * ignored, the fields we use are checked. "Not found" (HTTP 404 with gRPC code 5) is a value (null); anything else
 * that is not a usable answer (network error, timeout, 5xx, an unexpected status, a body we cannot parse) is a
 * ChainUnavailableError.
 */

export interface ChainRestClientOptions {
  /** The LCD base URL, e.g. https://api.akashnet.net (a path prefix is kept). */
  baseUrl: string;
  /** Per request, body included. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  /** A body larger than this is refused (a misbehaving endpoint must not exhaust memory). */
  maxResponseBytes?: number;
}

/** Known values: active, closed (invalid is the proto zero value). Kept as a string so a new state is not an outage. */
export type DeploymentState = string;
/** Known values: active, insufficient_funds, closed, reclaiming. */
export type LeaseState = string;

export interface ChainDeployment {
  owner: string;
  dseq: string;
  state: DeploymentState;
}

export interface ChainLease {
  owner: string;
  dseq: string;
  gseq: number;
  oseq: number;
  provider: string;
  bseq: number;
  state: LeaseState;
}

export interface ChainProvider {
  owner: string;
  hostUri: string;
  attributes: { key: string; value: string }[];
}

export interface LeaseFilters {
  owner: string;
  dseq: string;
  gseq?: number;
  oseq?: number;
  state?: "active" | "insufficient_funds" | "closed" | "reclaiming";
}

export type CertificateState = "valid" | "revoked";

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const PAGE_LIMIT = 100;
/** A chain that keeps answering with a next_key is broken, not large: no owner has 100 pages of leases for one dseq. */
const MAX_PAGES = 100;
const SECP256K1_PUBKEY_TYPE = "/cosmos.crypto.secp256k1.PubKey";

const uint64String = z.string().regex(/^\d+$/, "a decimal uint64 string");
// gRPC-gateway writes uint32 as a JSON number; amino JSON writes it as a string. Accept both.
const uint32 = z.union([z.number().int().min(0), z.string().regex(/^\d+$/).transform(Number)]);

const paginationSchema = z
  .object({ next_key: z.string().nullish() })
  .nullish()
  .transform((page) => (page?.next_key ? page.next_key : null));

const deploymentInfoSchema = z.object({
  deployment: z.object({
    id: z.object({ owner: z.string().min(1), dseq: uint64String }),
    state: z.string().min(1),
  }),
});

const leasesListSchema = z.object({
  leases: z.array(
    z.object({
      lease: z.object({
        id: z.object({
          owner: z.string().min(1),
          dseq: uint64String,
          gseq: uint32,
          oseq: uint32,
          provider: z.string().min(1),
          bseq: uint32.optional(),
        }),
        state: z.string().min(1),
      }),
    }),
  ),
  pagination: paginationSchema,
});

const httpUrl = z.url({ protocol: /^https?$/ });

const providerSchema = z.object({
  provider: z.object({
    owner: z.string().min(1),
    host_uri: httpUrl,
    attributes: z.array(z.object({ key: z.string(), value: z.string() })).nullish(),
  }),
});

const pubKeySchema = z.object({ "@type": z.string(), key: z.base64().optional() }).nullish();
const accountSchema = z.object({
  account: z.object({
    "@type": z.string(),
    pub_key: pubKeySchema,
    // Vesting accounts nest the base account one level down.
    base_vesting_account: z.object({ base_account: z.object({ pub_key: pubKeySchema }) }).optional(),
  }),
});

const certificatesListSchema = z.object({
  certificates: z.array(
    z.object({
      // bytes in proto, so base64 in JSON; the bytes are the PEM text itself.
      certificate: z.object({ state: z.string(), cert: z.base64() }),
    }),
  ),
  pagination: paginationSchema,
});

const grpcErrorSchema = z.object({ code: z.number().int(), message: z.string() });

export class ChainRestClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #maxResponseBytes: number;

  constructor(options: ChainRestClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** The deployment `owner`/`dseq`, or null when the chain has none (deployments are keyed by owner). */
  async getDeployment(owner: string, dseq: string): Promise<ChainDeployment | null> {
    const body = await this.#get(
      "/akash/deployment/v1beta4/deployments/info",
      { "id.owner": owner, "id.dseq": dseq },
      deploymentInfoSchema,
      { nullWhenNotFound: true },
    );
    if (body === null) return null;
    const { id, state } = body.deployment;
    if (id.owner !== owner || id.dseq !== dseq) {
      throw new ChainUnavailableError(`The chain answered deployment ${id.owner}/${id.dseq} for ${owner}/${dseq}.`);
    }
    return { owner: id.owner, dseq: id.dseq, state };
  }

  /** Every lease matching the filters, across all pages. */
  async listLeases(filters: LeaseFilters): Promise<ChainLease[]> {
    const query: Record<string, string> = { "filters.owner": filters.owner, "filters.dseq": filters.dseq };
    if (filters.gseq !== undefined) query["filters.gseq"] = String(filters.gseq);
    if (filters.oseq !== undefined) query["filters.oseq"] = String(filters.oseq);
    if (filters.state !== undefined) query["filters.state"] = filters.state;
    const pages = await this.#getAllPages("/akash/market/v1beta5/leases/list", query, leasesListSchema);
    return pages.flatMap((page) => page.leases.map(({ lease }) => toChainLease(lease)));
  }

  /** The provider registered at `address`, or null when none is. */
  async getProvider(address: string): Promise<ChainProvider | null> {
    const body = await this.#get(
      `/akash/provider/v1beta4/providers/${encodeURIComponent(address)}`,
      {},
      providerSchema,
      { nullWhenNotFound: true },
    );
    if (body === null) return null;
    const { owner, host_uri, attributes } = body.provider;
    return { owner, hostUri: host_uri, attributes: attributes ?? [] };
  }

  /**
   * The account's compressed secp256k1 public key (33 bytes), or null when the chain has no such account, the account
   * has never signed (no key published yet), or its key is of another type.
   */
  async getAccountPublicKey(address: string): Promise<Uint8Array | null> {
    const body = await this.#get(
      `/cosmos/auth/v1beta1/accounts/${encodeURIComponent(address)}`,
      {},
      accountSchema,
      { nullWhenNotFound: true },
    );
    if (body === null) return null;
    const pubKey = body.account.pub_key ?? body.account.base_vesting_account?.base_account.pub_key;
    if (!pubKey || pubKey["@type"] !== SECP256K1_PUBKEY_TYPE || pubKey.key === undefined) return null;
    const key = Buffer.from(pubKey.key, "base64");
    if (key.length !== 33 || (key[0] !== 0x02 && key[0] !== 0x03)) {
      throw new ChainUnavailableError(`The chain published a malformed secp256k1 public key for ${address}.`);
    }
    return new Uint8Array(key);
  }

  /**
   * The PEM texts of `owner`'s certificates in `state` (default valid), across all pages. An entry whose bytes are not
   * a PEM certificate is skipped: it could never match a presented certificate anyway.
   */
  async listCertificates(owner: string, options: { state?: CertificateState } = {}): Promise<string[]> {
    const state = options.state ?? "valid";
    const pages = await this.#getAllPages(
      "/akash/cert/v1/certificates/list",
      { "filter.owner": owner, "filter.state": state },
      certificatesListSchema,
    );
    return pages
      .flatMap((page) => page.certificates)
      .filter(({ certificate }) => certificate.state === state)
      .map(({ certificate }) => Buffer.from(certificate.cert, "base64").toString("utf8"))
      .filter((pem) => pem.includes("-----BEGIN CERTIFICATE-----"));
  }

  /**
   * Every active lease of an owner, across all deployments, in pages of 1,000: how a batch over thousands of
   * deployments resolves its targets in a handful of requests instead of two per target.
   */
  async listActiveLeasesOfOwner(owner: string): Promise<ChainLease[]> {
    const pages = await this.#getAllPages(
      "/akash/market/v1beta5/leases/list",
      { "filters.owner": owner, "filters.state": "active" },
      leasesListSchema,
      { pageLimit: 1_000, maxPages: 1_000 },
    );
    return pages.flatMap((page) => page.leases.map(({ lease }) => toChainLease(lease)));
  }

  async #getAllPages<T extends { pagination: string | null }>(
    path: string,
    query: Record<string, string>,
    schema: z.ZodType<T>,
    limits: { pageLimit: number; maxPages: number } = { pageLimit: PAGE_LIMIT, maxPages: MAX_PAGES },
  ): Promise<T[]> {
    const pages: T[] = [];
    let key: string | null = null;
    const seenKeys = new Set<string>();
    do {
      const pageQuery: Record<string, string> = { ...query, "pagination.limit": String(limits.pageLimit) };
      if (key !== null) pageQuery["pagination.key"] = key;
      const page = await this.#get(path, pageQuery, schema, { nullWhenNotFound: false });
      pages.push(page);
      key = page.pagination;
      if (key !== null && (seenKeys.has(key) || pages.length >= limits.maxPages)) {
        throw new ChainUnavailableError(`The chain's pagination of ${path} does not end.`);
      }
      if (key !== null) seenKeys.add(key);
    } while (key !== null);
    return pages;
  }

  #get<T>(path: string, query: Record<string, string>, schema: z.ZodType<T>, options: { nullWhenNotFound: true }): Promise<T | null>;
  #get<T>(path: string, query: Record<string, string>, schema: z.ZodType<T>, options: { nullWhenNotFound: false }): Promise<T>;
  async #get<T>(
    path: string,
    query: Record<string, string>,
    schema: z.ZodType<T>,
    options: { nullWhenNotFound: boolean },
  ): Promise<T | null> {
    const search = new URLSearchParams(query).toString();
    const url = `${this.baseUrl}${path}${search ? `?${search}` : ""}`;
    // The message may reach API clients: it names the path, never the base URL (hosted LCDs put API keys in it).
    const where = `chain REST ${path}`;
    let status: number;
    let text: string;
    try {
      const response = await this.#fetch(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.status;
      text = await readBoundedText(response, this.#maxResponseBytes);
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw error;
      const reason = error instanceof Error && error.name === "TimeoutError" ? `timed out after ${this.#timeoutMs} ms` : describe(error);
      throw new ChainUnavailableError(`${where} is unreachable: ${reason}`, error);
    }

    if (status >= 200 && status < 300) {
      const parsed = schema.safeParse(parseJson(text));
      if (!parsed.success) {
        throw new ChainUnavailableError(`${where} answered an unexpected body: ${z.prettifyError(parsed.error)}`, parsed.error);
      }
      return parsed.data;
    }

    const grpcError = grpcErrorSchema.safeParse(parseJson(text));
    const detail = grpcError.success ? ` (gRPC code ${grpcError.data.code}: ${grpcError.data.message})` : "";
    // grpc-gateway answers a path it does not route with 404 {"code":5,"message":"Not Found"}: that is an LCD without
    // this module version, not a missing record, and must not turn every lookup into "not found".
    if (
      options.nullWhenNotFound &&
      status === 404 &&
      grpcError.success &&
      grpcError.data.code === 5 &&
      grpcError.data.message !== "Not Found"
    ) {
      return null;
    }
    throw new ChainUnavailableError(`${where} answered HTTP ${status}${detail}.`);
  }
}

async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      // Cancelling releases the connection instead of draining a body we will not use.
      await reader.cancel();
      throw new ChainUnavailableError(`The chain REST answer exceeded ${maxBytes} bytes.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The error and its cause's code (ECONNREFUSED, ENOTFOUND…), without the cause's message, which names hosts. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = error.cause instanceof Error && "code" in error.cause ? String(error.cause.code) : undefined;
  return code ? `${error.message} (${code})` : error.message;
}

function toChainLease(lease: z.output<typeof leasesListSchema>["leases"][number]["lease"]): ChainLease {
  return {
    owner: lease.id.owner,
    dseq: lease.id.dseq,
    gseq: lease.id.gseq,
    oseq: lease.id.oseq,
    provider: lease.id.provider,
    bseq: lease.id.bseq ?? 0,
    state: lease.state,
  };
}
