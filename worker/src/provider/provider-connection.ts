import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { ProviderAuth, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { assessPeerCertificate, peerCertificateFacts, providerTlsOptions, type ProviderTlsUntrustedError } from "./provider-tls.ts";

/**
 * Opens the TCP (and TLS) connection to a provider gateway and returns it ready for the first HTTP byte, so that
 * what happens before a request is sent (DNS, connect, handshake, certificate decision) is told apart from what
 * happens after. Callers hand the socket to `http.request`/`ws` through `createConnection`.
 */

export interface ProviderSocketOptions {
  /** ws:/wss:/http:/https: URL of the gateway; the scheme decides TLS. */
  url: URL;
  auth: ProviderAuth;
  tls: ProviderTlsPolicy;
  /** DNS + TCP + TLS handshake together. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export type ProviderSocketFailure =
  | { kind: "unreachable"; reason: "timeout" | "refused" | "dns" | "reset" | "tls-handshake" | "other"; detail: string }
  | { kind: "tls-untrusted"; error: ProviderTlsUntrustedError }
  | { kind: "aborted" };

/** Why a provider socket could not be opened; nothing was sent on it. */
export class ProviderSocketError extends Error {
  readonly failure: ProviderSocketFailure;
  constructor(failure: ProviderSocketFailure) {
    super(describeFailure(failure));
    this.name = "ProviderSocketError";
    this.failure = failure;
  }
}

export function isSecureUrl(url: URL): boolean {
  return url.protocol === "wss:" || url.protocol === "https:";
}

export function urlPort(url: URL): number {
  if (url.port) return Number(url.port);
  return isSecureUrl(url) ? 443 : 80;
}

export function openProviderSocket(options: ProviderSocketOptions): Promise<Socket> {
  const { url, signal } = options;
  if (signal?.aborted) return Promise.reject(new ProviderSocketError({ kind: "aborted" }));
  const secure = isSecureUrl(url);
  const port = urlPort(url);

  return new Promise<Socket>((resolve, reject) => {
    const socket: Socket = secure
      ? tlsConnect({ ...providerTlsOptions(url.hostname, options.auth), port })
      : netConnect({ host: stripBrackets(url.hostname), port });
    // Kept for the socket's whole life: an 'error' between our hand-over and the next owner's listener must not
    // crash the process. The owner (http/ws) still sees every error through its own listener.
    socket.on("error", ignoreError);

    let settled = false;
    const settle = (failure: ProviderSocketFailure | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off(secure ? "secureConnect" : "connect", onConnected);
      if (failure) {
        socket.destroy();
        reject(new ProviderSocketError(failure));
      } else {
        resolve(socket);
      }
    };
    const onError = (error: Error): void => settle(failureFromError(error, secure));
    const onAbort = (): void => settle({ kind: "aborted" });
    const onConnected = (): void => {
      if (!secure) return settle(null);
      const verdict = assessPeerCertificate(peerCertificateFacts(socket as TLSSocket), options.tls);
      settle(verdict.trusted ? null : { kind: "tls-untrusted", error: verdict.error });
    };
    const timer = setTimeout(
      () => settle({ kind: "unreachable", reason: "timeout", detail: `no ${secure ? "TLS " : ""}connection within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    socket.once("error", onError);
    socket.once(secure ? "secureConnect" : "connect", onConnected);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.setNoDelay(true);
  });
}

function failureFromError(error: Error, secure: boolean): ProviderSocketFailure {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const detail = code ? `${code}: ${error.message}` : error.message;
  if (code === "ECONNREFUSED") return { kind: "unreachable", reason: "refused", detail };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "EAI_NONAME") return { kind: "unreachable", reason: "dns", detail };
  if (code === "ETIMEDOUT") return { kind: "unreachable", reason: "timeout", detail };
  if (code === "ECONNRESET" || code === "EPIPE") return { kind: "unreachable", reason: "reset", detail };
  if (secure && (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"))) return { kind: "unreachable", reason: "tls-handshake", detail };
  return { kind: "unreachable", reason: "other", detail };
}

function describeFailure(failure: ProviderSocketFailure): string {
  switch (failure.kind) {
    case "unreachable":
      return `provider unreachable (${failure.reason}): ${failure.detail}`;
    case "tls-untrusted":
      return failure.error.message;
    case "aborted":
      return "aborted before the connection was established";
  }
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

function ignoreError(): void {}
