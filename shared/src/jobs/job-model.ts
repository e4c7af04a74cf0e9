import { z } from "zod";

/** `skipped` is only reached by batch targets that never started because the batch's error budget ran out. */
export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "canceled", "error", "skipped"] as const;
export const jobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatusSchema>;
export const FINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "timed_out", "canceled", "error", "skipped"];
export function isFinalStatus(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** `error.code` values a job can end with (status `error`, or explaining `timed_out`/`canceled`). */
export const JOB_ERROR_CODES = [
  "PROVIDER_UNREACHABLE",
  "PROVIDER_AUTH_FAILED",
  "PROVIDER_TLS_UNTRUSTED",
  "PROVIDER_REJECTED",
  "PROVIDER_PROTOCOL_ERROR",
  "SERVICE_NOT_FOUND",
  "NO_READY_REPLICA",
  "LEASE_GONE",
  "PROVIDER_EXEC_FAILED",
  "PROVIDER_DISCONNECTED",
  "WORKER_LOST",
  "TIMED_OUT",
  "CANCELED",
  "SKIPPED",
  "INTERNAL_ERROR",
] as const;
export const jobErrorCodeSchema = z.enum(JOB_ERROR_CODES);
export type JobErrorCode = z.infer<typeof jobErrorCodeSchema>;

export const jobTargetSchema = z.object({
  dseq: z.string(),
  gseq: z.number().int(),
  oseq: z.number().int(),
  service: z.string(),
  podIndex: z.number().int(),
  provider: z.string(),
});
export type JobTarget = z.infer<typeof jobTargetSchema>;

/** What the client asked for, without any secret-grade value (those never enter this record). */
export const jobRequestSchema = z.object({
  mode: z.enum(["shell", "exec"]),
  command: z.string().nullable(),
  argv: z.array(z.string()).nullable(),
  timeout: z.number().int(),
  workdir: z.string().nullable(),
  maxOutputBytes: z.number().int(),
  stdinBytes: z.number().int().default(0),
  files: z.array(z.object({ path: z.string(), mode: z.string(), bytes: z.number().int() })).default([]),
  envNames: z.array(z.string()).default([]),
});
export type JobRequest = z.infer<typeof jobRequestSchema>;

export const jobResultMetaSchema = z.object({
  exitCode: z.number().int().nullable(),
  truncated: z.boolean(),
  stdoutBytes: z.number().int(),
  stderrBytes: z.number().int(),
  durationMs: z.number().int(),
});
export type JobResultMeta = z.infer<typeof jobResultMetaSchema>;

export const jobErrorSchema = z.object({
  code: jobErrorCodeSchema,
  message: z.string(),
  commandMayHaveRun: z.boolean(),
});
export type JobError = z.infer<typeof jobErrorSchema>;

/** The immutable part of a job, written once at submit. */
export const jobSpecSchema = z.object({
  id: z.string(),
  principalId: z.string(),
  wallet: z.string(),
  target: jobTargetSchema,
  hostUri: z.string(),
  request: jobRequestSchema,
  createdAt: z.string(),
  batchId: z.string().nullable().default(null),
});
export type JobSpec = z.infer<typeof jobSpecSchema>;

/** A job as read back from Redis: the spec plus its mutable state. Output bytes are read separately. */
export interface JobRecord extends JobSpec {
  status: JobStatus;
  startedAt: string | null;
  finishedAt: string | null;
  result: JobResultMeta | null;
  error: JobError | null;
  /** When the worker was about to send the command to the provider (the at-most-once marker). */
  sentAt: string | null;
  attempts: number;
  /** When a client asked to cancel the job while it was running. */
  cancelRequestedAt: string | null;
}

export interface JobOutput {
  stdout: Buffer;
  stderr: Buffer;
}
