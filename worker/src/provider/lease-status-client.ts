import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { z } from "zod";
import type { ProviderAuth, ProviderErrorCode, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { providerBodyMessage } from "./classify-failure.ts";
import { parseHostUri } from "./lease-shell-url.ts";
import { isSecureUrl, openProviderSocket, ProviderSocketError, urlPort } from "./provider-connection.ts";

/**
 * `GET /lease/{dseq}/{gseq}/{oseq}/status` on the provider gateway (scope `status`), parsed with zod. Every way it
 * can fail is a typed value, never a throw. The handler is leaseStatusHandler in akash-network/provider
 * gateway/rest/router.go: 404 with an empty body when the provider holds no manifest for the lease.
 */

const count = z.number().int().min(0);

export const serviceStatusSchema = z.object({
  name: z.string().optional(),
  available: count,
  total: count,
  uris: z.array(z.string()).nullish(),
  observed_generation: z.number().int().optional(),
  replicas: count.optional(),
  updated_replicas: count.optional(),
  ready_replicas: count.optional(),
  available_replicas: count.optional(),
});
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

export const leaseStatusSchema = z.object({
  // The provider's map holds pointers: a null entry is a service it could not describe.
  services: z.record(z.string(), serviceStatusSchema.nullable()).nullable().transform((services) => services ?? {}),
  forwarded_ports: z.unknown().optional(),
  ips: z.unknown().optional(),
});
export type LeaseStatus = z.infer<typeof leaseStatusSchema>;

export interface LeaseStatusQuery {
  hostUri: string;
  dseq: string;
  gseq: number;
  oseq: number;
  auth: ProviderAuth;
  tls: ProviderTlsPolicy;
  /** The whole request: connect, TLS, answer and body. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export type LeaseStatusFailureCode = Extract<
  ProviderErrorCode,
  "LEASE_GONE" | "PROVIDER_AUTH_FAILED" | "PROVIDER_TLS_UNTRUSTED" | "PROVIDER_UNREACHABLE" | "PROVIDER_REJECTED" | "PROVIDER_PROTOCOL_ERROR"
>;

export type LeaseStatusResult =
  | { ok: true; status: LeaseStatus }
  | { ok: false; code: LeaseStatusFailureCode; message: string; httpStatus?: number; providerMessage?: string };

const MAX_STATUS_BODY_BYTES = 1024 * 1024;

export async function getLeaseStatus(query: LeaseStatusQuery): Promise<LeaseStatusResult> {
  let base: URL;
  try {
    base = parseHostUri(query.hostUri);
  } catch (error) {
    return { ok: false, code: "PROVIDER_REJECTED", message: error instanceof Error ? error.message : String(error) };
  }
  const url = new URL(`${base.pathname.replace(/\/+$/, "")}/lease/${encodeURIComponent(query.dseq)}/${query.gseq}/${query.oseq}/status`, base);
  const deadline = AbortSignal.timeout(query.timeoutMs);
  const signal = query.signal ? AbortSignal.any([query.signal, deadline]) : deadline;

  let socket: Socket;
  try {
    socket = await openProviderSocket({ url, auth: query.auth, tls: query.tls, timeoutMs: query.timeoutMs, signal });
  } catch (error) {
    if (!(error instanceof ProviderSocketError)) return unreachable(String(error));
    const failure = error.failure;
    if (failure.kind === "tls-untrusted") return { ok: false, code: "PROVIDER_TLS_UNTRUSTED", message: failure.error.message };
    if (failure.kind === "aborted") return unreachable(deadline.aborted ? `no connection within ${query.timeoutMs} ms` : "aborted");
    return unreachable(failure.detail);
  }

  let response: { status: number; body: Buffer; oversize: boolean };
  try {
    response = await getOverSocket(url, socket, query.auth, signal);
  } catch (error) {
    socket.destroy();
    return unreachable(deadline.aborted ? `no answer within ${query.timeoutMs} ms` : error instanceof Error ? error.message : String(error));
  }
  return interpretStatusResponse(response);
}

/** Pure: what a status answer means. */
export function interpretStatusResponse(response: { status: number; body: Buffer; oversize: boolean }): LeaseStatusResult {
  const { status } = response;
  const text = response.body.toString("utf8");
  const providerMessage = providerBodyMessage(text);
  const said = providerMessage ? `: ${providerMessage}` : "";
  const extra = { httpStatus: status, ...(providerMessage ? { providerMessage } : {}) };
  if (status === 404) return { ok: false, code: "LEASE_GONE", message: `The provider holds no manifest for this lease (HTTP 404${said}).`, ...extra };
  if (status === 401 || status === 403) {
    return { ok: false, code: "PROVIDER_AUTH_FAILED", message: `The provider refused the worker's credentials (HTTP ${status}${said}).`, ...extra };
  }
  if (status >= 500) return { ok: false, code: "PROVIDER_UNREACHABLE", message: `The provider failed to report the lease status (HTTP ${status}${said}).`, ...extra };
  if (status !== 200) return { ok: false, code: "PROVIDER_REJECTED", message: `The provider refused the lease status request (HTTP ${status}${said}).`, ...extra };
  if (response.oversize) {
    return { ok: false, code: "PROVIDER_PROTOCOL_ERROR", message: `The provider's lease status is larger than ${MAX_STATUS_BODY_BYTES} bytes.`, httpStatus: status };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: "PROVIDER_PROTOCOL_ERROR", message: "The provider's lease status is not JSON.", httpStatus: status };
  }
  const parsed = leaseStatusSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      code: "PROVIDER_PROTOCOL_ERROR",
      message: `The provider's lease status has an unexpected shape: ${z.prettifyError(parsed.error).slice(0, 300)}`,
      httpStatus: status,
    };
  }
  return { ok: true, status: parsed.data };
}

function getOverSocket(url: URL, socket: Socket, auth: ProviderAuth, signal: AbortSignal): Promise<{ status: number; body: Buffer; oversize: boolean }> {
  return new Promise((resolve, reject) => {
    const request = (isSecureUrl(url) ? httpsRequest : httpRequest)({
      method: "GET",
      host: url.hostname,
      port: urlPort(url),
      path: url.pathname,
      headers: { Accept: "application/json", ...(auth.kind === "jwt" ? { Authorization: `Bearer ${auth.token}` } : {}) },
      createConnection: () => socket,
      signal,
    });
    request.on("error", reject);
    request.on("response", (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let oversize = false;
      response.on("data", (chunk: Buffer) => {
        if (oversize) return;
        if (bytes + chunk.length > MAX_STATUS_BODY_BYTES) {
          oversize = true;
          response.destroy();
          socket.destroy();
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), oversize });
          return;
        }
        chunks.push(chunk);
        bytes += chunk.length;
      });
      response.on("error", reject);
      response.on("end", () => {
        // One request per connection: the provider is asked again through a fresh, freshly verified socket.
        socket.destroy();
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), oversize });
      });
    });
    request.end();
  });
}

function unreachable(detail: string): LeaseStatusResult {
  return { ok: false, code: "PROVIDER_UNREACHABLE", message: `The provider could not be reached for the lease status: ${detail}.` };
}
