import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import type { WalletKeyring } from "@shell-exec/shared/keyring/wallet-keyring.ts";
import type { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import type { ProviderTokenCache } from "@shell-exec/shared/akash/provider-jwt.ts";
import type { ExecOutcome, LeaseShellRequest, ProviderAuth, ProviderErrorCode, ProviderTlsPolicy } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { execQueueDataSchema, type ExecQueueData } from "@shell-exec/shared/jobs/exec-queue.ts";
import type { JobRecord } from "@shell-exec/shared/jobs/job-model.ts";
import type { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { cancelCommand, wrapCommand } from "./command-wrapper.ts";
import type { LeaseCheckInput } from "./provider/lease-status-cache.ts";
import type { SecretBox } from "@shell-exec/shared/secrets/secret-box.ts";
import { deliveryStream, deserializeBundle, isEmptyBundle, secretValues, type SecretBundle } from "@shell-exec/shared/secrets/secret-bundle.ts";
import { scrubSecrets } from "@shell-exec/shared/secrets/output-scrubber.ts";
import { finishInputFromOutcome, isRetryableSendFailure, type KillConfirmation } from "./outcome-mapping.ts";
import type { FinishInput } from "@shell-exec/shared/jobs/job-store.ts";

/** What the processor needs from the provider side; implemented over LeaseShellClient and the lease-status client. */
export interface ProviderPort {
  exec(request: LeaseShellRequest): Promise<ExecOutcome>;
  /** Null when the service has a ready replica at that index; otherwise why not. */
  checkLease(input: LeaseCheckInput): Promise<{ code: ProviderErrorCode; message: string; commandMayHaveRun: false } | null>;
}

export interface ExecProcessorDeps {
  store: JobStore;
  provider: ProviderPort;
  /** Signing keys (and optional mTLS pairs) of every wallet the service acts for. */
  keyring: WalletKeyring;
  tokens: ProviderTokenCache;
  audit: AuditLog;
  providerTls: (provider: string) => Promise<ProviderTlsPolicy>;
  workerId: string;
  logger: Logger;
  connectTimeoutMs: number;
  deadlineGraceSeconds: number;
  secretBox: SecretBox | null;
  /** Called after a batch job ended (or was found already ended), so the batch can dispatch its next targets. */
  onBatchJobEnded?: (batchId: string) => Promise<void>;
  /** Aborts of running jobs requested by clients, by job id. */
  cancellations: { register(jobId: string): AbortSignal; release(jobId: string): void };
}

/** Thrown to make BullMQ retry with backoff: the command was certainly not sent. */
export class RetryableSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RetryableSendError";
  }
}

export async function processExecJob(deps: ExecProcessorDeps, job: Job<ExecQueueData>): Promise<void> {
  const { batchId } = execQueueDataSchema.parse(job.data);
  try {
    await runExecJob(deps, job);
  } finally {
    if (batchId && deps.onBatchJobEnded) {
      await deps.onBatchJobEnded(batchId).catch((error: unknown) => deps.logger.warn({ err: error, batchId }, "batch dispatch after a job failed; the sweeper will retry"));
    }
  }
}

async function runExecJob(deps: ExecProcessorDeps, job: Job<ExecQueueData>): Promise<void> {
  const { jobId } = execQueueDataSchema.parse(job.data);
  const { store, logger } = deps;
  const log = logger.child({ jobId, bullAttempt: job.attemptsMade + 1 });
  const claim = await store.claim(jobId, deps.workerId);
  if (claim === "cancel-requested") {
    await store.finish(jobId, {
      status: "canceled",
      result: null,
      error: { code: "CANCELED", message: "Canceled by a client before the command was sent.", commandMayHaveRun: false },
      output: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
    });
    return;
  }
  if (claim === "missing" || claim === "final") {
    log.info({ claim }, "job not runnable (expired, canceled or already ended): skipping");
    return;
  }
  if (claim === "lost") {
    // A previous holder got as far as sending and then vanished: the command may have run, so never send again.
    await store.finish(jobId, {
      status: "error",
      result: null,
      error: {
        code: "WORKER_LOST",
        message: "The worker running this job stopped after sending the command; its outcome is unknown.",
        commandMayHaveRun: true,
      },
      output: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
    });
    log.warn("job was sent by a worker that was lost: ended WORKER_LOST");
    return;
  }
  const record = await store.get(jobId);
  if (!record) return;
  const signal = deps.cancellations.register(jobId);
  try {
    const { outcome, kill } = await runOnProvider(deps, record, signal);
    const attemptsAllowed = job.opts.attempts ?? 1;
    if (isRetryableSendFailure(outcome) && job.attemptsMade + 1 < attemptsAllowed && (await store.requeueForRetry(jobId))) {
      log.warn({ code: outcome.kind === "error" ? outcome.code : undefined }, "provider unreachable before sending: will retry");
      throw new RetryableSendError(outcome.kind === "error" ? outcome.message : "retry");
    }
    const finish = finishInputFromOutcome(outcome, record.request.timeout, kill);
    const written = await store.finish(jobId, finish);
    log.info({ status: finish.status, exitCode: finish.result?.exitCode, errorCode: finish.error?.code, written }, "job ended");
    if (written) await recordOutcome(deps, record, finish);
  } catch (error) {
    if (error instanceof RetryableSendError) throw error;
    log.error({ err: error }, "job processing failed");
    await store
      .finish(jobId, {
        status: "error",
        result: null,
        error: { code: "INTERNAL_ERROR", message: "The worker failed while running this job.", commandMayHaveRun: record.sentAt !== null },
        output: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
      })
      .catch(() => undefined);
    throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
  } finally {
    deps.cancellations.release(jobId);
  }
}

async function openSecrets(deps: ExecProcessorDeps, jobId: string): Promise<SecretBundle | null> {
  const sealed = await deps.store.getSealedSecrets(jobId);
  if (!sealed) return null;
  if (!deps.secretBox) throw new Error("the job carries secret inputs but this worker has no SECRETS_KEYS");
  return deserializeBundle(deps.secretBox.open(sealed, jobId));
}

interface ProviderRun {
  outcome: ExecOutcome;
  /** Set when the command was stopped (cancel, worker deadline) and a second exec tried to kill it. */
  kill: KillConfirmation | null;
}

async function recordOutcome(deps: ExecProcessorDeps, record: JobRecord, finish: FinishInput): Promise<void> {
  await deps.audit
    .record({
      event: "outcome",
      principalId: record.principalId,
      wallet: record.wallet,
      jobId: record.id,
      target: { dseq: record.target.dseq, gseq: record.target.gseq, oseq: record.target.oseq, service: record.target.service, podIndex: record.target.podIndex },
      outcome: finish.status,
      exitCode: finish.result?.exitCode ?? null,
      durationMs: finish.result?.durationMs ?? null,
      errorCode: finish.error?.code ?? null,
    })
    .catch((error: unknown) => deps.logger.error({ err: error, jobId: record.id }, "audit write failed"));
}

/** JWT signed with the wallet's key; mTLS when the keyring holds only a client certificate for it. */
function providerAuthFor(deps: ExecProcessorDeps, record: JobRecord): ProviderAuth | null {
  const wallet = deps.keyring.walletFor(record.wallet);
  if (wallet) return { kind: "jwt", token: deps.tokens.tokenFor(wallet, record.target.provider) };
  const tls = deps.keyring.tlsClientFor(record.wallet);
  return tls ? { kind: "mtls", certPem: tls.certPem, keyPem: tls.keyPem } : null;
}

async function runOnProvider(deps: ExecProcessorDeps, record: JobRecord, signal: AbortSignal): Promise<ProviderRun> {
  const { target } = record;
  const auth = providerAuthFor(deps, record);
  if (!auth) {
    const message = `This worker holds no signing key for wallet ${record.wallet}.`;
    return { outcome: { kind: "error", code: "PROVIDER_AUTH_FAILED", message, commandMayHaveRun: false, ...emptyOutput(), durationMs: 0 }, kill: null };
  }
  const tls = await deps.providerTls(target.provider);
  const lease = { hostUri: record.hostUri, dseq: target.dseq, gseq: target.gseq, oseq: target.oseq, service: target.service, podIndex: target.podIndex };
  const notReady = await deps.provider.checkLease({ ...lease, auth, tls });
  if (notReady) return { outcome: { kind: "error", ...notReady, ...emptyOutput(), durationMs: 0 }, kill: null };
  const secrets = await openSecrets(deps, record.id);
  const stdin = secrets && !isEmptyBundle(secrets) ? deliveryStream(secrets) : undefined;
  let sendRefused = false;
  const outcome = await deps.provider.exec({
    ...lease,
    argv: wrapCommand({
      jobId: record.id,
      mode: record.request.mode,
      command: record.request.command,
      argv: record.request.argv,
      timeoutSeconds: record.request.timeout,
      workdir: record.request.workdir,
      delivery: secrets
        ? {
            files: secrets.files.map((f) => ({ path: f.path, mode: f.mode, bytes: f.content.length })),
            env: secrets.env.map((e) => ({ name: e.name, bytes: e.value.length })),
            stdinBytes: secrets.stdin?.length ?? null,
          }
        : undefined,
    }),
    ...(stdin
      ? {
          stdin,
          // Delivered: the sealed copy in Redis has no further use (a retry happens only when nothing was sent).
          onStdinWritten: () => {
            deps.store.eraseSecrets(record.id).catch((error: unknown) => deps.logger.warn({ err: error, jobId: record.id }, "erasing delivered secrets failed; the job's end erases them"));
          },
        }
      : {}),
    auth,
    tls,
    deadlineMs: (record.request.timeout + deps.deadlineGraceSeconds) * 1000,
    maxOutputBytes: record.request.maxOutputBytes,
    connectTimeoutMs: deps.connectTimeoutMs,
    signal,
    beforeSend: async () => {
      if (!(await deps.store.markSent(record.id))) {
        sendRefused = true;
        throw new Error("job is no longer runnable (cancel requested before send)");
      }
    },
  });
  if (sendRefused) return { outcome: { kind: "canceled", ...emptyOutput(), durationMs: 0 }, kill: "not-running" };
  const scrubbed = secrets ? scrubOutcome(outcome, secretValues(secrets)) : outcome;
  if (scrubbed.kind === "canceled" || scrubbed.kind === "timed_out") {
    // The provider does not stop a process whose client left: stop it through a second exec.
    const kill = await killInContainer(deps, record, { ...lease, auth, tls });
    deps.logger.info({ jobId: record.id, kill }, "stop of the container process after cancel/deadline");
    return { outcome: scrubbed, kill };
  }
  return { outcome: scrubbed, kill: null };
}

function scrubOutcome(outcome: ExecOutcome, secrets: Buffer[]): ExecOutcome {
  return { ...outcome, stdout: scrubSecrets(outcome.stdout, secrets).output, stderr: scrubSecrets(outcome.stderr, secrets).output };
}


async function killInContainer(
  deps: ExecProcessorDeps,
  record: JobRecord,
  lease: LeaseCheckInput,
): Promise<KillConfirmation> {
  const outcome = await deps.provider.exec({
    ...lease,
    argv: cancelCommand(record.id),
    deadlineMs: 20_000,
    maxOutputBytes: 4096,
    connectTimeoutMs: deps.connectTimeoutMs,
  });
  if (outcome.kind !== "exited") return "unknown";
  const word = outcome.stdout.toString("utf8").trim();
  return word === "killed" || word === "not-running" || word === "still-running" ? word : "unknown";
}

function emptyOutput() {
  return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutBytes: 0, stderrBytes: 0, truncated: false };
}
