/**
 * The contract between the worker's job processor and its provider client (LeaseShellClient). The client turns one
 * lease-shell exchange into exactly one ExecOutcome; it never throws for anything the provider or the network does.
 */

/** How the worker proves itself to the provider gateway. Never both (the provider answers 400 then). */
export type ProviderAuth =
  | { kind: "jwt"; token: string }
  | { kind: "mtls"; certPem: string; keyPem: string };

/**
 * Which provider certificates to accept. `onChainCertificatesPem` are the provider's certificates published on chain
 * (cert module); a certificate that is CA-valid for the host, or byte-equal to one of these, is trusted.
 * `insecureSkipVerify` exists only for explicit development setups.
 */
export interface ProviderTlsPolicy {
  onChainCertificatesPem: readonly string[];
  insecureSkipVerify?: boolean;
}

export interface LeaseShellRequest {
  /** The provider's `host_uri` from chain, e.g. https://provider.example.com:8443 (http:// for local runs). */
  hostUri: string;
  dseq: string;
  gseq: number;
  oseq: number;
  service: string;
  podIndex: number;
  /** argv as the provider runs it (cmd0..N); every element non-empty. */
  argv: readonly string[];
  /** Bytes sent as 104 frames right after the upgrade; the URL says stdin=1 only when present. */
  stdin?: Buffer;
  /** Called once all of `stdin` has been written to the socket: the moment delivered secrets may be erased. */
  onStdinWritten?: () => void;
  auth: ProviderAuth;
  tls: ProviderTlsPolicy;
  /** Client-side deadline from the moment the upgrade completes; past it the outcome is `timed_out`. */
  deadlineMs: number;
  /** Per-stream cap held while reading; bytes past it are counted, not kept. */
  maxOutputBytes: number;
  connectTimeoutMs?: number;
  /** Aborting ends the exchange at once with outcome `canceled`. */
  signal?: AbortSignal;
  /**
   * Awaited right before the upgrade request is written to the socket (after TCP/TLS are up): the at-most-once
   * marker. A failure before it is certainly not a run; after it, the command may have run.
   */
  beforeSend?: () => Promise<void>;
}

export interface CollectedOutput {
  stdout: Buffer;
  stderr: Buffer;
  /** Total bytes the provider sent per stream, including those past the cap. */
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

export type ProviderErrorCode =
  | "PROVIDER_UNREACHABLE"
  | "PROVIDER_AUTH_FAILED"
  | "PROVIDER_TLS_UNTRUSTED"
  | "SERVICE_NOT_FOUND"
  | "NO_READY_REPLICA"
  | "LEASE_GONE"
  | "PROVIDER_EXEC_FAILED"
  | "PROVIDER_DISCONNECTED"
  | "PROVIDER_PROTOCOL_ERROR"
  | "PROVIDER_REJECTED";

export type ExecOutcome =
  | ({ kind: "exited"; exitCode: number; durationMs: number } & CollectedOutput)
  | ({ kind: "timed_out"; durationMs: number } & CollectedOutput)
  | ({ kind: "canceled"; durationMs: number } & CollectedOutput)
  | ({
      kind: "error";
      code: ProviderErrorCode;
      message: string;
      /** False only when the provider certainly did not start the command (nothing was upgraded). */
      commandMayHaveRun: boolean;
      /** The provider's HTTP status and body when it refused the upgrade. */
      httpStatus?: number;
      providerMessage?: string;
      durationMs: number;
    } & CollectedOutput);
