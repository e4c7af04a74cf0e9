import type { Socket } from "node:net";
import type { ExecOutcome, LeaseShellRequest } from "@shell-exec/shared/exec/lease-shell-types.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { classifyFailure, type ExchangeFailure } from "./classify-failure.ts";
import { buildLeaseShellUrl, InvalidLeaseShellRequestError } from "./lease-shell-url.ts";
import { runLeaseShellSession } from "./lease-shell-session.ts";
import { emptyOutput } from "./output-collector.ts";
import { openProviderSocket, ProviderSocketError } from "./provider-connection.ts";

export interface LeaseShellClientDeps {
  logger: Logger;
  /** Used when a request has no connectTimeoutMs: DNS+TCP+TLS, and again for the answer to the upgrade. */
  defaultConnectTimeoutMs?: number;
  /** Largest single WebSocket message accepted from a provider (it writes ~32 KiB chunks); default 4 MiB. */
  maxFrameBytes?: number;
  /** Monotonic milliseconds; injected by tests. */
  now?: () => number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * Runs one command through a provider's lease shell and reports exactly one ExecOutcome. It never rejects for what
 * the network or the provider does; it rejects only for a request that breaks the contract (an empty argv element,
 * a host_uri that is not http(s)), before anything is opened.
 *
 * The at-most-once marker: the connection (DNS, TCP, TLS and the certificate decision) is opened first, then
 * `req.beforeSend()` is awaited, then the already-connected socket is handed to `ws` through `createConnection`, which
 * writes the upgrade request on it in the same tick. Everything that fails before that point certainly did not run
 * the command; everything after may have. Connecting the socket ourselves, rather than hooking into `ws`'s own
 * connect, also keeps the TLS trust decision (CA-valid or pinned on chain) in one place shared with the status client.
 */
export class LeaseShellClient {
  readonly #logger: Logger;
  readonly #defaultConnectTimeoutMs: number;
  readonly #maxFrameBytes: number;
  readonly #now: () => number;

  constructor(deps: LeaseShellClientDeps) {
    this.#logger = deps.logger;
    this.#defaultConnectTimeoutMs = deps.defaultConnectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#maxFrameBytes = deps.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#now = deps.now ?? (() => performance.now());
  }

  async exec(req: LeaseShellRequest): Promise<ExecOutcome> {
    const url = buildLeaseShellUrl(req);
    assertLimits(req);
    // Never the URL (it carries argv), never stdin, never the token.
    const log = this.#logger.child({
      provider: url.host,
      dseq: req.dseq,
      gseq: req.gseq,
      oseq: req.oseq,
      service: req.service,
      podIndex: req.podIndex,
    });
    const connectTimeoutMs = req.connectTimeoutMs ?? this.#defaultConnectTimeoutMs;
    const startedAt = this.#now();

    const notSent = (failure: ExchangeFailure): ExecOutcome => ({ kind: "error", ...classifyFailure(failure), durationMs: 0, ...emptyOutput() });
    const canceled = (): ExecOutcome => ({ kind: "canceled", durationMs: 0, ...emptyOutput() });

    if (req.signal?.aborted) return this.#logged(log, canceled(), startedAt, false);

    let socket: Socket;
    try {
      socket = await openProviderSocket({ url, auth: req.auth, tls: req.tls, timeoutMs: connectTimeoutMs, signal: req.signal });
    } catch (error) {
      const failure = error instanceof ProviderSocketError ? error.failure : { kind: "unreachable" as const, reason: "other" as const, detail: String(error) };
      if (failure.kind === "aborted") return this.#logged(log, canceled(), startedAt, false);
      if (failure.kind === "tls-untrusted") {
        log.warn({ verifyError: failure.error.verifyError, fingerprint256: failure.error.fingerprint256 }, "provider certificate not trusted");
        return this.#logged(log, notSent({ stage: "connect", kind: "tls-untrusted", detail: failure.error.message }), startedAt, false);
      }
      return this.#logged(log, notSent({ stage: "connect", kind: "unreachable", detail: failure.detail }), startedAt, false);
    }

    if (req.beforeSend) {
      try {
        await req.beforeSend();
      } catch (error) {
        socket.destroy();
        return this.#logged(log, notSent({ stage: "before-send", kind: "refused", detail: error instanceof Error ? error.message : String(error) }), startedAt, false);
      }
    }
    if (req.signal?.aborted) {
      socket.destroy();
      return this.#logged(log, canceled(), startedAt, false);
    }
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return this.#logged(log, notSent({ stage: "connect", kind: "unreachable", detail: "the connection closed before the request was sent" }), startedAt, false);
    }

    const outcome = await runLeaseShellSession({
      url,
      socket,
      auth: req.auth,
      stdin: req.stdin,
      onStdinWritten: req.onStdinWritten,
      deadlineMs: req.deadlineMs,
      upgradeTimeoutMs: connectTimeoutMs,
      maxOutputBytes: req.maxOutputBytes,
      maxFrameBytes: this.#maxFrameBytes,
      signal: req.signal,
      now: this.#now,
    });
    return this.#logged(log, outcome, startedAt, true);
  }

  #logged(log: Logger, outcome: ExecOutcome, startedAt: number, sent: boolean): ExecOutcome {
    const summary = {
      outcome: outcome.kind,
      sent,
      totalMs: Math.round(this.#now() - startedAt),
      durationMs: Math.round(outcome.durationMs),
      stdoutBytes: outcome.stdoutBytes,
      stderrBytes: outcome.stderrBytes,
      truncated: outcome.truncated,
      ...(outcome.kind === "exited" ? { exitCode: outcome.exitCode } : {}),
      ...(outcome.kind === "error"
        ? { code: outcome.code, commandMayHaveRun: outcome.commandMayHaveRun, httpStatus: outcome.httpStatus, providerMessage: outcome.providerMessage }
        : {}),
    };
    if (outcome.kind === "error") log.warn(summary, "lease shell failed");
    else log.info(summary, "lease shell ended");
    return outcome;
  }
}

/** Node timers hold at most 2^31-1 ms; a larger value would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function assertLimits(req: LeaseShellRequest): void {
  const check = (field: string, value: number | undefined, min: number, max: number): void => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new InvalidLeaseShellRequestError(field, `${field} ${value} is not in [${min}, ${max}]`);
    }
  };
  check("deadlineMs", req.deadlineMs, 1, MAX_TIMER_MS);
  check("connectTimeoutMs", req.connectTimeoutMs, 1, MAX_TIMER_MS);
  check("maxOutputBytes", req.maxOutputBytes, 0, Number.MAX_SAFE_INTEGER);
  if (!Number.isInteger(req.maxOutputBytes)) throw new InvalidLeaseShellRequestError("maxOutputBytes", "maxOutputBytes must be an integer");
}
