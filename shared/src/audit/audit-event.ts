import { z } from "zod";
import { JOB_STATUSES } from "../jobs/job-model.ts";

/**
 * What an audit entry may hold. None of these schemas has a field for a secret-grade value (stdin, file contents,
 * env values): such a field cannot be passed (the types refuse it) and, passed anyway through a wider object, is
 * stripped by the parse (zod objects drop unknown keys). Strings are cut to a bound so one entry stays small.
 */
const bounded = (max: number) => z.string().transform((value) => value.slice(0, max));

export const AUDIT_EVENTS = ["submit", "cancel", "refusal", "outcome"] as const;
export type AuditEventKind = (typeof AUDIT_EVENTS)[number];

export const auditTargetSchema = z.object({
  dseq: bounded(32),
  gseq: z.number().int(),
  oseq: z.number().int(),
  service: bounded(128).optional(),
  podIndex: z.number().int().optional(),
});
export type AuditTarget = z.input<typeof auditTargetSchema>;

/** The command as the client sent it. `sensitive`: audit only its SHA-256 digest (e.g. marked by the command policy). */
export const auditCommandSchema = z.discriminatedUnion("mode", [
  z.object({ mode: z.literal("shell"), command: z.string(), sensitive: z.boolean().default(false) }),
  z.object({ mode: z.literal("exec"), argv: z.array(z.string()), sensitive: z.boolean().default(false) }),
]);
export type AuditCommand = z.input<typeof auditCommandSchema>;

/** Where the request came from; null outside a request (e.g. a worker recording an outcome). */
const requestContextShape = {
  requestId: bounded(128).nullable().default(null),
  clientAddress: bounded(64).nullable().default(null),
};

const actorShape = { principalId: bounded(256), wallet: bounded(64) };

export const auditEventInputSchema = z.discriminatedUnion("event", [
  z.object({
    event: z.literal("submit"),
    ...actorShape,
    ...requestContextShape,
    target: auditTargetSchema,
    command: auditCommandSchema,
    jobId: bounded(128),
    batchId: bounded(128).nullable().default(null),
  }),
  z.object({
    event: z.literal("cancel"),
    ...actorShape,
    ...requestContextShape,
    jobId: bounded(128),
    /** What the cancel did: `canceled`, `cancel-requested`, … */
    outcome: bounded(64).nullable().default(null),
  }),
  z.object({
    event: z.literal("refusal"),
    /** Unknown for authentication refusals. */
    principalId: bounded(256).nullable().default(null),
    wallet: bounded(64).nullable().default(null),
    ...requestContextShape,
    /** The error code the client got: UNAUTHENTICATED, FORBIDDEN, COMMAND_NOT_ALLOWED, RATE_LIMITED, … */
    errorCode: bounded(64),
    target: auditTargetSchema.nullable().default(null),
    command: auditCommandSchema.nullable().default(null),
    jobId: bounded(128).nullable().default(null),
  }),
  z.object({
    event: z.literal("outcome"),
    ...actorShape,
    ...requestContextShape,
    jobId: bounded(128),
    target: auditTargetSchema.nullable().default(null),
    outcome: z.enum(JOB_STATUSES),
    exitCode: z.number().int().nullable().default(null),
    durationMs: z.number().int().nullable().default(null),
    errorCode: bounded(64).nullable().default(null),
  }),
]);
/** What a caller passes to AuditLog.record(). */
export type AuditEventInput = z.input<typeof auditEventInputSchema>;

/** One entry as stored and as `GET /v1/audit` returns it. */
export interface AuditEntry {
  /** The stream entry id (also the order). */
  id: string;
  time: string;
  event: AuditEventKind;
  principalId: string | null;
  wallet: string | null;
  target: { dseq: string; gseq: number; oseq: number; service: string | null; podIndex: number | null } | null;
  mode: "shell" | "exec" | null;
  /** Shell mode, unless sensitive. */
  command: string | null;
  /** Exec mode, unless sensitive. */
  argv: string[] | null;
  /** SHA-256 (hex) of the command (shell: its UTF-8 bytes; exec: the JSON array of argv). Always set when there is a command. */
  commandSha256: string | null;
  /** The command was stored as its digest only. */
  commandSensitive: boolean;
  /** The stored command or argv was cut to keep the entry small (the digest covers all of it). */
  commandTruncated: boolean;
  outcome: string | null;
  exitCode: number | null;
  durationMs: number | null;
  errorCode: string | null;
  requestId: string | null;
  clientAddress: string | null;
  jobId: string | null;
  batchId: string | null;
}
