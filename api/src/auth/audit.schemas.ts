import { z } from "@hono/zod-openapi";
import { AUDIT_EVENTS } from "@shell-exec/shared/audit/audit-event.ts";

const isoTime = z.iso.datetime({ offset: true });

export const auditQuerySchema = z.object({
  event: z
    .enum(AUDIT_EVENTS)
    .optional()
    .openapi({ param: { name: "event", in: "query" }, description: "Only entries of this kind." }),
  jobId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({ param: { name: "jobId", in: "query" }, description: "Only entries about this job." }),
  since: isoTime.optional().openapi({ param: { name: "since", in: "query" }, description: "Only entries at or after this time (ISO 8601)." }),
  until: isoTime.optional().openapi({ param: { name: "until", in: "query" }, description: "Only entries at or before this time (ISO 8601)." }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "`nextCursor` of the previous page." }),
});
export type AuditQueryParams = z.infer<typeof auditQuerySchema>;

const auditTargetSchema = z
  .object({
    dseq: z.string(),
    gseq: z.number().int(),
    oseq: z.number().int(),
    service: z.string().nullable(),
    podIndex: z.number().int().nullable(),
  })
  .openapi("AuditTarget");

export const auditEntrySchema = z
  .object({
    id: z.string().openapi({ description: "Entry id; entries are ordered by it.", example: "1767225600000-0" }),
    time: z.string().openapi({ example: "2026-01-01T00:00:00.000Z" }),
    event: z.enum(AUDIT_EVENTS).openapi({
      description: "`submit` and `cancel`: a client action; `refusal`: a request refused for auth, permission, policy or a limit; `outcome`: how a job ended.",
    }),
    principalId: z.string().nullable().openapi({ description: "`key:<id>` or `jwt:<sub>`; null when the caller was not authenticated." }),
    wallet: z.string().nullable(),
    target: auditTargetSchema.nullable(),
    mode: z.enum(["shell", "exec"]).nullable(),
    command: z.string().nullable().openapi({ description: "Shell mode's command (cut at 4096 characters), unless `commandSensitive`." }),
    argv: z.array(z.string()).nullable().openapi({ description: "Exec mode's argv, unless `commandSensitive`." }),
    commandSha256: z.string().nullable().openapi({
      description: "SHA-256 (hex) of the command: of its UTF-8 bytes in shell mode, of the JSON array of argv in exec mode.",
    }),
    commandSensitive: z.boolean().openapi({ description: "The command matched a sensitive rule and is kept as its digest only." }),
    commandTruncated: z.boolean(),
    outcome: z.string().nullable().openapi({ description: "`outcome`: the job's final status; `cancel`: what the cancel did." }),
    exitCode: z.number().int().nullable(),
    durationMs: z.number().int().nullable(),
    errorCode: z.string().nullable().openapi({ description: "`refusal`: the error code the client got; `outcome`: the job's `error.code`." }),
    requestId: z.string().nullable(),
    clientAddress: z.string().nullable(),
    jobId: z.string().nullable(),
    batchId: z.string().nullable(),
  })
  .openapi("AuditEntry", {
    description: "Never holds secret-grade inputs (stdin, file contents, env values) or output.",
  });

export const auditPageSchema = z
  .object({ entries: z.array(auditEntrySchema), nextCursor: z.string().nullable() })
  .openapi("AuditPage");
export type AuditPageView = z.infer<typeof auditPageSchema>;
