/**
 * Typed errors that cross a boundary. Each carries the public error code and HTTP status of the API's error envelope
 * (`{"error":{"code","message","details"},"requestId"}`); the API's central error handler maps them, nothing else does.
 */
export class ShellExecError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, status: number, message: string, options: { details?: unknown; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class DeploymentNotFoundError extends ShellExecError {
  constructor(dseq: string) {
    super("DEPLOYMENT_NOT_FOUND", 404, `No deployment ${dseq} is owned by this wallet.`, { details: { dseq } });
  }
}

export class LeaseNotFoundError extends ShellExecError {
  constructor(target: { dseq: string; gseq: number; oseq: number }) {
    super("LEASE_NOT_FOUND", 404, `Deployment ${target.dseq} has no lease ${target.gseq}/${target.oseq}.`, { details: target });
  }
}

export class DeploymentNotActiveError extends ShellExecError {
  constructor(dseq: string, state: string) {
    super("DEPLOYMENT_NOT_ACTIVE", 409, `Deployment ${dseq} is ${state}, not active.`, { details: { dseq, state } });
  }
}

export class LeaseNotActiveError extends ShellExecError {
  constructor(target: { dseq: string; gseq: number; oseq: number }, state: string) {
    super("LEASE_NOT_ACTIVE", 409, `Lease ${target.dseq}/${target.gseq}/${target.oseq} is ${state}, not active.`, {
      details: { ...target, state },
    });
  }
}

/** The chain REST endpoint did not answer usefully (down, 5xx, unparsable body). */
export class ChainUnavailableError extends ShellExecError {
  constructor(message: string, cause?: unknown) {
    super("CHAIN_UNAVAILABLE", 503, message, { cause, retryAfterSeconds: 5 });
  }
}
