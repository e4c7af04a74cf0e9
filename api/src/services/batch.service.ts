import { randomBytes } from "node:crypto";
import type { Queue } from "bullmq";
import type { BatchStore, NewBatchJob } from "@shell-exec/shared/batches/batch-store.ts";
import { resolveMaxErrors, type BatchRecord, type BatchSpec } from "@shell-exec/shared/batches/batch-model.ts";
import { ShellExecError } from "@shell-exec/shared/errors.ts";
import type { ExecQueueData } from "@shell-exec/shared/jobs/exec-queue.ts";
import type { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import { commandSubjectFromBody, type CommandPolicy } from "../policy/command-policy.ts";
import type { SubmitRateLimiter } from "../limits/submit-rate-limiter.ts";
import type { JobStatus } from "@shell-exec/shared/jobs/job-model.ts";
import type { JobStore } from "@shell-exec/shared/jobs/job-store.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import type { SecretBox } from "@shell-exec/shared/secrets/secret-box.ts";
import { isEmptyBundle, serializeBundle } from "@shell-exec/shared/secrets/secret-bundle.ts";
import type { Principal } from "../auth/principal.ts";
import { ValidationError } from "../errors.ts";
import type { JobWaiters } from "../jobs/job-waiters.ts";
import { toJobSummary } from "../jobs/job-view.ts";
import { fingerprintMatches, jobRequestFromBody, requestFingerprint, secretBundleFromBody } from "../jobs/submit-inputs.ts";
import { requirePermission } from "../middleware/authenticate.ts";
import type { BatchBody, BatchView } from "../schemas/batch.schemas.ts";
import { submitBodySchema, type JobSummaryView, type SubmitBody } from "../schemas/job.schemas.ts";
import { IdempotencyConflictError, NoSigningKeyError, newJobId, SecretsDisabledError, type LeaseRef } from "./shell-exec.service.ts";
import { admitCommand, auditCommand, NO_REQUEST_CONTEXT, type RequestContext } from "./command-admission.ts";

export class BatchNotFoundError extends ShellExecError {
  constructor(id: string) {
    super("BATCH_NOT_FOUND", 404, `No batch ${id} (it may have expired).`, { details: { id } });
  }
}

export class TargetsRejectedError extends ShellExecError {
  constructor(status: 404 | 409, rejected: unknown[]) {
    super("TARGETS_REJECTED", status, `${rejected.length} target(s) could not be resolved and allOrNothing is set; nothing was queued.`, {
      details: rejected,
    });
  }
}

/** Many leases of one owner at once; each entry the target or the typed error a single submit would throw. */
export type ResolveLeaseTargets = (
  owner: string,
  leases: readonly LeaseRef[],
) => Promise<Map<string, { provider: string; hostUri: string } | Error>>;

export interface BatchServiceDeps {
  jobs: JobStore;
  batches: BatchStore;
  queue: Queue<ExecQueueData>;
  waiters: JobWaiters;
  resolveLeaseTargets: ResolveLeaseTargets;
  secretBox: SecretBox | null;
  logger: Logger;
  policy: CommandPolicy;
  submitRate: SubmitRateLimiter;
  audit: AuditLog;
  hasSigningKey: (wallet: string) => boolean;
}

type Rejected = BatchView["rejected"][number];

export class BatchService {
  readonly #deps: BatchServiceDeps;

  constructor(deps: BatchServiceDeps) {
    this.#deps = deps;
  }

  /**
   * A batch counts as one submit for the rate limit, and its jobs take no per-principal in-flight slots: the batch's
   * own `concurrency` bounds them, in their own queue. Every target's command passes the command policy.
   */
  async create(principal: Principal, body: BatchBody, options: { idempotencyKey?: string | undefined; context?: RequestContext }): Promise<BatchView> {
    requirePermission(principal, "shell-exec:execute");
    const { secretBox, jobs, batches } = this.#deps;
    const context = options.context ?? NO_REQUEST_CONTEXT;
    const merged = this.#validateTargets(body);
    const sensitive = new Set<number>();
    for (const [index, { lease, submit }] of merged.entries()) {
      const target = { ...lease, service: submit.service, podIndex: submit.podIndex };
      if ((await admitCommand(this.#deps, principal, target, commandSubjectFromBody(submit), context)).sensitive) sensitive.add(index);
    }
    if (!this.#deps.hasSigningKey(principal.wallet)) throw new NoSigningKeyError(principal.wallet);
    await this.#deps.submitRate.check(principal.id);
    const leases = merged.map(({ lease }) => lease);
    const resolved = await this.#resolveAll(principal.wallet, leases);
    const rejected: Rejected[] = [];
    resolved.forEach((result, index) => {
      if (result instanceof ShellExecError) {
        rejected.push({ index, ...leases[index]!, error: { code: result.code, message: result.message } });
      }
    });
    if (rejected.length > 0 && body.allOrNothing) {
      throw new TargetsRejectedError(rejected.every((r) => r.error.code.endsWith("NOT_FOUND")) ? 404 : 409, rejected);
    }
    const id = `bat_${randomBytes(16).toString("base64url")}`;
    if (options.idempotencyKey) {
      const fingerprint = requestFingerprint({ batch: true }, body as unknown as SubmitBody, secretBox);
      const existing = await jobs.reserveIdempotencyKey(principal.id, `batch:${options.idempotencyKey}`, { jobId: id, fingerprint });
      if (existing) {
        if (!fingerprintMatches(existing.fingerprint, { batch: true }, body as unknown as SubmitBody, secretBox)) {
          throw new IdempotencyConflictError(options.idempotencyKey);
        }
        for (let i = 0; i < 100 && !(await batches.get(existing.jobId)); i++) await new Promise((r) => setTimeout(r, 20));
        return this.get(principal, existing.jobId);
      }
    }
    const createdAt = new Date().toISOString();
    const newJobs: NewBatchJob[] = [];
    merged.forEach(({ lease, submit }, index) => {
      const target = resolved[index];
      if (!target || target instanceof ShellExecError) return;
      const bundle = secretBundleFromBody(submit);
      if (!isEmptyBundle(bundle) && !secretBox) throw new SecretsDisabledError();
      const jobId = newJobId();
      newJobs.push({
        spec: {
          id: jobId,
          principalId: principal.id,
          wallet: principal.wallet,
          target: { ...lease, service: submit.service, podIndex: submit.podIndex, provider: target.provider },
          hostUri: target.hostUri,
          request: jobRequestFromBody(submit, bundle),
          createdAt,
          batchId: id,
        },
        sealedSecrets: isEmptyBundle(bundle) ? null : secretBox!.seal(serializeBundle(bundle), jobId),
      });
    });
    const spec: BatchSpec = {
      id,
      principalId: principal.id,
      wallet: principal.wallet,
      total: newJobs.length,
      concurrency: body.concurrency,
      maxErrorsInput: body.maxErrors ?? null,
      maxErrors: resolveMaxErrors(body.maxErrors, newJobs.length),
      createdAt,
    };
    await batches.create(spec, newJobs);
    await this.#dispatch(id);
    this.#deps.logger.info({ batchId: id, principalId: principal.id, total: spec.total, rejected: rejected.length }, "batch accepted");
    const first = merged[0];
    if (first) {
      await this.#deps.audit
        .record({
          event: "submit",
          principalId: principal.id,
          wallet: principal.wallet,
          target: { ...first.lease, service: first.submit.service, podIndex: first.submit.podIndex },
          command: auditCommand(commandSubjectFromBody(first.submit), sensitive.size > 0),
          jobId: id,
          batchId: id,
          ...context,
        })
        .catch((auditError: unknown) => this.#deps.logger.error({ err: auditError, batchId: id }, "audit write failed"));
    }
    const record = await batches.get(id);
    if (!record) throw new BatchNotFoundError(id);
    return { ...toBatchView(record), rejected };
  }

  async get(principal: Principal, id: string): Promise<BatchView> {
    requirePermission(principal, "shell-exec:read");
    return toBatchView(await this.#own(principal, id));
  }

  async listJobs(
    principal: Principal,
    id: string,
    query: { status?: JobStatus | undefined; limit: number; cursor?: string | undefined },
  ): Promise<{ jobs: JobSummaryView[]; nextCursor: string | null }> {
    requirePermission(principal, "shell-exec:read");
    const batch = await this.#own(principal, id);
    let offset = Number(query.cursor ?? 0);
    const out: JobSummaryView[] = [];
    let scanned = 0;
    while (out.length < query.limit && offset < batch.total && scanned < 5_000) {
      const ids = await this.#deps.batches.jobIds(id, offset, Math.min(500, query.limit * 4));
      if (ids.length === 0) break;
      const records = await this.#deps.jobs.getMany(ids);
      for (const record of records) {
        offset++;
        scanned++;
        if (record && (!query.status || record.status === query.status)) out.push(toJobSummary(record));
        if (out.length === query.limit) break;
      }
    }
    return { jobs: out, nextCursor: offset < batch.total ? String(offset) : null };
  }

  async wait(principal: Principal, id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<{ batch: BatchView; finished: boolean }> {
    requirePermission(principal, "shell-exec:read");
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const handle = this.#deps.waiters.register(id, deadline - Date.now(), signal);
      let batch: BatchRecord;
      try {
        batch = await this.#own(principal, id);
      } catch (error) {
        handle.release();
        throw error;
      }
      if (batch.finishedAt || Date.now() >= deadline || signal?.aborted) {
        handle.release();
        return { batch: toBatchView(batch), finished: batch.finishedAt !== null };
      }
      await handle.changed;
    }
  }

  async cancel(principal: Principal, id: string, cancelJob: (principal: Principal, jobId: string) => Promise<unknown>): Promise<BatchView> {
    requirePermission(principal, "shell-exec:execute");
    await this.#own(principal, id);
    const result = await this.#deps.batches.cancel(id);
    if (result.outcome === "missing") throw new BatchNotFoundError(id);
    if (result.outcome === "finished") {
      throw new ShellExecError("ALREADY_FINISHED", 409, `Batch ${id} already ended (${result.status}).`, { details: { id, status: result.status } });
    }
    await Promise.all(result.liveJobIds.map((jobId) => cancelJob(principal, jobId).catch(() => undefined)));
    await this.#deps.batches.dispatch(id);
    return toBatchView(await this.#own(principal, id));
  }

  async #dispatch(id: string): Promise<void> {
    const ids = await this.#deps.batches.dispatch(id);
    if (ids.length > 0) await this.#deps.queue.addBulk(ids.map((jobId) => ({ name: "exec", data: { jobId, batchId: id }, opts: { jobId } })));
  }

  async #own(principal: Principal, id: string): Promise<BatchRecord> {
    const batch = await this.#deps.batches.get(id);
    if (!batch || batch.wallet !== principal.wallet) throw new BatchNotFoundError(id);
    return batch;
  }

  /** Merges each target over the defaults and validates it as a submit body; every bad field is reported by path. */
  #validateTargets(body: BatchBody): { lease: LeaseRef; submit: SubmitBody }[] {
    const details: { field: string; message: string }[] = [];
    const out: { lease: LeaseRef; submit: SubmitBody }[] = [];
    body.targets.forEach((target, index) => {
      const { dseq, gseq, oseq, ...overrides } = target;
      const parsed = submitBodySchema.safeParse({ ...body.defaults, ...overrides });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          if (details.length < 100) details.push({ field: `targets.${index}.${issue.path.join(".")}`.replace(/\.$/, ""), message: issue.message });
        }
        return;
      }
      out.push({ lease: { dseq, gseq, oseq }, submit: parsed.data });
    });
    if (details.length > 0) {
      throw new ValidationError(`Invalid body: ${details.slice(0, 5).map((d) => `${d.field}: ${d.message}`).join("; ")}`, details);
    }
    return out;
  }

  async #resolveAll(owner: string, leases: readonly LeaseRef[]): Promise<({ provider: string; hostUri: string } | ShellExecError)[]> {
    const distinct = new Map<string, LeaseRef>();
    for (const lease of leases) distinct.set(`${lease.dseq}/${lease.gseq}/${lease.oseq}`, lease);
    const resolved = await this.#deps.resolveLeaseTargets(owner, [...distinct.values()]);
    return leases.map((lease) => {
      const result = resolved.get(`${lease.dseq}/${lease.gseq}/${lease.oseq}`);
      // The chain being down refuses the whole batch (503): per-target verdicts only for per-target facts.
      if (result instanceof ShellExecError && result.status < 500) return result;
      if (!result || result instanceof Error) throw result ?? new Error("lease resolution returned nothing");
      return result;
    });
  }
}

export function toBatchView(batch: BatchRecord): BatchView {
  return {
    id: batch.id,
    status: batch.status,
    total: batch.total,
    counts: batch.counts,
    concurrency: batch.concurrency,
    maxErrors: batch.maxErrors,
    createdAt: batch.createdAt,
    finishedAt: batch.finishedAt,
    rejected: [],
    links: {
      self: `/v1/shell-exec/batches/${batch.id}`,
      jobs: `/v1/shell-exec/batches/${batch.id}/jobs`,
      wait: `/v1/shell-exec/batches/${batch.id}/wait`,
    },
  };
}
