import { randomBytes } from "node:crypto";
import type { Queue } from "bullmq";
import type { Logger } from "@shell-exec/shared/logger.ts";
import type { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import { InvalidCursorError } from "@shell-exec/shared/jobs/job-store.ts";
import { isFinalStatus, type JobRecord, type JobSpec, type JobStatus } from "@shell-exec/shared/jobs/job-model.ts";
import type { ExecQueueData } from "@shell-exec/shared/jobs/exec-queue.ts";
import { requirePermission } from "../middleware/authenticate.ts";
import type { Principal } from "../auth/principal.ts";
import { AlreadyFinishedError, JobNotFoundError, QueueFullError, UnavailableError, ValidationError } from "../errors.ts";
import type { JobWaiters } from "../jobs/job-waiters.ts";
import { fingerprintMatches, jobRequestFromBody, requestFingerprint, secretBundleFromBody } from "../jobs/submit-inputs.ts";
import type { SecretBox } from "@shell-exec/shared/secrets/secret-box.ts";
import { isEmptyBundle, serializeBundle } from "@shell-exec/shared/secrets/secret-bundle.ts";
import { ShellExecError } from "../errors.ts";
import type { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import { commandSubjectFromBody, type CommandPolicy } from "../policy/command-policy.ts";
import { admitCommand, auditCommand, NO_REQUEST_CONTEXT, type RequestContext } from "./command-admission.ts";

export type { RequestContext } from "./command-admission.ts";
import type { SubmitRateLimiter } from "../limits/submit-rate-limiter.ts";
import type { InFlightLimiter } from "../limits/in-flight-limiter.ts";
import { toJobSummary, toJobView } from "../jobs/job-view.ts";
import type { JobSummaryView, JobView, SubmitBody } from "../schemas/job.schemas.ts";

export interface LeaseRef {
  dseq: string;
  gseq: number;
  oseq: number;
}

/** Chain lookups before a job is accepted; throws the typed not-found / not-active errors. */
export type ResolveLeaseTarget = (input: LeaseRef & { owner: string }) => Promise<{ provider: string; hostUri: string }>;

export interface ShellExecServiceDeps {
  store: JobStore;
  queue: Queue<ExecQueueData>;
  waiters: JobWaiters;
  resolveLeaseTarget: ResolveLeaseTarget;
  logger: Logger;
  /** Above this many waiting jobs, submits answer 429 QUEUE_FULL. */
  maxQueuedJobs: number;
  /** Seals secret-grade inputs; without one, submits carrying them are refused. */
  secretBox: SecretBox | null;
  policy: CommandPolicy;
  submitRate: SubmitRateLimiter;
  inFlight: InFlightLimiter;
  audit: AuditLog;
  /** Whether the service holds a signing key for a wallet (a job for a wallet without one could never run). */
  hasSigningKey: (wallet: string) => boolean;
}

export class NoSigningKeyError extends ShellExecError {
  constructor(wallet: string) {
    super("NO_SIGNING_KEY", 403, `This service holds no signing key for wallet ${wallet}, so it cannot act for it on a provider.`, { details: { wallet } });
  }
}

export class IdempotencyConflictError extends ShellExecError {
  constructor(key: string) {
    super("IDEMPOTENCY_CONFLICT", 409, "This Idempotency-Key was already used with a different request.", { details: { idempotencyKey: key } });
  }
}

export class SecretsDisabledError extends ShellExecError {
  constructor() {
    super("SECRETS_DISABLED", 400, "This server has no SECRETS_KEYS configured, so it cannot accept stdin, files or env.", {
      details: [{ field: "stdin/files/env", message: "not accepted without SECRETS_KEYS" }],
    });
  }
}

export function newJobId(): string {
  return `job_${randomBytes(16).toString("base64url")}`;
}

/** Submit, read, wait, cancel and list single jobs. Every method takes the principal it acts for. */
export class ShellExecService {
  readonly #deps: ShellExecServiceDeps;

  constructor(deps: ShellExecServiceDeps) {
    this.#deps = deps;
  }

  async submit(
    principal: Principal,
    lease: LeaseRef,
    body: SubmitBody,
    options: {
      waitSeconds?: number | undefined;
      signal?: AbortSignal | undefined;
      idempotencyKey?: string | undefined;
      context?: RequestContext;
    },
  ): Promise<{ job: JobView; finished: boolean }> {
    requirePermission(principal, "shell-exec:execute");
    const { store, queue, secretBox, audit, inFlight } = this.#deps;
    const context = options.context ?? NO_REQUEST_CONTEXT;
    const auditTarget = { ...lease, service: body.service, podIndex: body.podIndex };
    const subject = commandSubjectFromBody(body);
    const { sensitive } = await admitCommand(this.#deps, principal, auditTarget, subject, context);
    if (!this.#deps.hasSigningKey(principal.wallet)) throw new NoSigningKeyError(principal.wallet);
    await this.#deps.submitRate.check(principal.id);
    const bundle = secretBundleFromBody(body);
    if (!isEmptyBundle(bundle) && !secretBox) throw new SecretsDisabledError();
    const target = await this.#deps.resolveLeaseTarget({ ...lease, owner: principal.wallet });
    const id = newJobId();
    if (options.idempotencyKey) {
      const fingerprint = requestFingerprint(lease, body, secretBox);
      const existing = await store.reserveIdempotencyKey(principal.id, options.idempotencyKey, { jobId: id, fingerprint });
      if (existing) {
        if (!fingerprintMatches(existing.fingerprint, lease, body, secretBox)) throw new IdempotencyConflictError(options.idempotencyKey);
        return this.#replay(principal, existing.jobId, options);
      }
    }
    let acquired = false;
    try {
      await this.#assertQueueHasRoom();
      await inFlight.acquire(principal.id, id);
      acquired = true;
      const spec: JobSpec = {
        id,
        principalId: principal.id,
        wallet: principal.wallet,
        target: { ...lease, service: body.service, podIndex: body.podIndex, provider: target.provider },
        hostUri: target.hostUri,
        request: jobRequestFromBody(body, bundle),
        createdAt: new Date().toISOString(),
        batchId: null,
      };
      const sealedSecrets = isEmptyBundle(bundle) ? null : secretBox!.seal(serializeBundle(bundle), id);
      try {
        await store.create(spec, { sealedSecrets, activeSet: inFlight.key(principal.id) });
      } catch (error) {
        throw new UnavailableError("The job store (Redis) did not accept the job; nothing was queued.", error);
      }
      try {
        await queue.add("exec", { jobId: id }, { jobId: id });
      } catch (error) {
        await store.discard(spec).catch(() => undefined);
        throw new UnavailableError("The queue (Redis) did not accept the job; nothing was queued.", error);
      }
    } catch (error) {
      if (acquired) await inFlight.release(principal.id, id).catch(() => undefined);
      if (options.idempotencyKey) await store.releaseIdempotencyKey(principal.id, options.idempotencyKey).catch(() => undefined);
      throw error;
    }
    this.#deps.logger.info({ jobId: id, principalId: principal.id, lease, service: body.service }, "job accepted");
    await audit
      .record({ event: "submit", principalId: principal.id, wallet: principal.wallet, target: auditTarget, command: auditCommand(subject, sensitive), jobId: id, ...context })
      .catch((auditError: unknown) => this.#deps.logger.error({ err: auditError, jobId: id }, "audit write failed"));
    if (options.waitSeconds) return this.#waitForFinal(id, principal, options.waitSeconds, options.signal);
    const record = await store.get(id);
    if (!record) throw new UnavailableError("The job store lost the job it just accepted.");
    return { job: toJobView(record, null), finished: false };
  }

  /** The same key and body again: the original job, waited on as this request asks. */
  async #replay(
    principal: Principal,
    jobId: string,
    options: { waitSeconds?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<{ job: JobView; finished: boolean }> {
    // The first request may still be between reserving the key and storing the job.
    for (let i = 0; i < 50 && !(await this.#deps.store.get(jobId)); i++) await new Promise((r) => setTimeout(r, 20));
    return this.#waitForFinal(jobId, principal, options.waitSeconds ?? 0, options.signal);
  }

  async get(principal: Principal, id: string): Promise<JobView> {
    requirePermission(principal, "shell-exec:read");
    const record = await this.#ownRecord(principal, id);
    return this.#view(record);
  }

  async wait(principal: Principal, id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<{ job: JobView; finished: boolean }> {
    requirePermission(principal, "shell-exec:read");
    await this.#ownRecord(principal, id);
    return this.#waitForFinal(id, principal, timeoutSeconds, signal);
  }

  async cancel(principal: Principal, id: string, context: RequestContext = NO_REQUEST_CONTEXT): Promise<JobView> {
    requirePermission(principal, "shell-exec:execute");
    const record = await this.#ownRecord(principal, id);
    if (isFinalStatus(record.status)) throw new AlreadyFinishedError(id, record.status);
    const outcome = await this.#deps.store.requestCancel(id, {
      code: "CANCELED",
      message: "Canceled by a client before it started.",
      commandMayHaveRun: false,
    });
    const audit = (event: Parameters<AuditLog["record"]>[0]) =>
      this.#deps.audit.record(event).catch((auditError: unknown) => this.#deps.logger.error({ err: auditError, jobId: id }, "audit write failed"));
    await audit({ event: "cancel", principalId: principal.id, wallet: principal.wallet, jobId: id, outcome, ...context });
    if (outcome === "canceled") {
      await audit({ event: "outcome", principalId: principal.id, wallet: principal.wallet, jobId: id, target: record.target, outcome: "canceled", errorCode: "CANCELED", ...context });
    }
    if (outcome === "canceled") {
      // The BullMQ job may already be active in a worker that has not claimed it yet: its claim sees `canceled`.
      await this.#deps.queue.remove(id).catch(() => 0);
    } else if (outcome === "missing") {
      throw new JobNotFoundError(id);
    } else if (outcome !== "cancel-requested" && isFinalStatus(outcome)) {
      throw new AlreadyFinishedError(id, outcome);
    }
    return this.#view(await this.#ownRecord(principal, id));
  }

  async list(
    principal: Principal,
    query: { status?: JobStatus | undefined; dseq?: string | undefined; limit: number; cursor?: string | undefined },
  ): Promise<{ jobs: JobSummaryView[]; nextCursor: string | null }> {
    requirePermission(principal, "shell-exec:read");
    try {
      const page = await this.#deps.store.list({ wallet: principal.wallet, ...query });
      return { jobs: page.jobs.map(toJobSummary), nextCursor: page.nextCursor };
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        throw new ValidationError("Invalid cursor.", [{ field: "cursor", message: error.message }]);
      }
      throw error;
    }
  }

  async #waitForFinal(id: string, principal: Principal, seconds: number, signal?: AbortSignal): Promise<{ job: JobView; finished: boolean }> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      // Register first, then read: a finish published in between still wakes this waiter.
      const handle = this.#deps.waiters.register(id, deadline - Date.now(), signal);
      let record: JobRecord;
      try {
        record = await this.#ownRecord(principal, id);
      } catch (error) {
        handle.release();
        throw error;
      }
      if (isFinalStatus(record.status) || Date.now() >= deadline || signal?.aborted) {
        handle.release();
        return { job: await this.#view(record), finished: isFinalStatus(record.status) };
      }
      await handle.changed;
    }
  }

  async #ownRecord(principal: Principal, id: string): Promise<JobRecord> {
    const record = await this.#deps.store.get(id);
    // Someone else's job answers exactly like a missing one.
    if (!record || record.wallet !== principal.wallet) throw new JobNotFoundError(id);
    return record;
  }

  async #view(record: JobRecord): Promise<JobView> {
    const output = record.result ? await this.#deps.store.getOutput(record.id) : null;
    return toJobView(record, output);
  }

  async #assertQueueHasRoom(): Promise<void> {
    const waiting = await this.#deps.queue.getWaitingCount().catch((error: unknown) => {
      throw new UnavailableError("The queue (Redis) cannot be reached; nothing was queued.", error);
    });
    if (waiting >= this.#deps.maxQueuedJobs) throw new QueueFullError(waiting);
  }
}
