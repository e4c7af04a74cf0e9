import { z } from "@hono/zod-openapi";
import { JOB_ERROR_CODES, JOB_STATUSES } from "@shell-exec/shared/jobs/job-model.ts";

export const MIB = 1024 * 1024;
export const MAX_OUTPUT_BYTES = 16 * MIB;

const dseqSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,19}$/, "a deployment sequence number (digits)")
  .openapi({ example: "1234567" });
const seqSchema = z.coerce.number().int().min(0).max(4_294_967_295);

export const leasePathSchema = z.object({
  dseq: dseqSchema.openapi({ param: { name: "dseq", in: "path" } }),
  gseq: seqSchema.openapi({ param: { name: "gseq", in: "path" }, example: 1 }),
  oseq: seqSchema.openapi({ param: { name: "oseq", in: "path" }, example: 1 }),
});

const noNul = (value: string) => !value.includes("\0");

/** Fields a submit body accepts; batches accept the same per target (over `defaults`). */
export const submitFieldsShape = {
  service: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "an SDL service name (lowercase letters, digits, '-')")
    .openapi({ description: "The SDL service name.", example: "web" }),
  command: z
    .string()
    .min(1)
    .max(65_536)
    .refine(noNul, "must not contain NUL bytes")
    .optional()
    .openapi({ description: "Shell mode: run by `/bin/sh -c` in the container.", example: "echo hello" }),
  argv: z
    .array(
      z
        .string()
        .min(1, "empty arguments are rejected: the provider would silently cut argv there")
        .max(65_536)
        .refine(noNul, "must not contain NUL bytes"),
    )
    .min(1)
    .max(1_000)
    .optional()
    .openapi({ description: "Exec mode: no shell, one argument per element.", example: ["ls", "-la", "/"] }),
  timeout: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(60)
    .openapi({ description: "Seconds the command may run; enforced inside the container (`timeout`) and by the worker." }),
  podIndex: z.number().int().min(0).max(10_000).default(0).openapi({ description: "Replica index (pods sorted by name)." }),
  workdir: z
    .string()
    .min(1)
    .max(4096)
    .refine(noNul, "must not contain NUL bytes")
    .optional()
    .openapi({ description: "Working directory for the command." }),
  maxOutputBytes: z
    .number()
    .int()
    .min(0)
    .max(MAX_OUTPUT_BYTES)
    .default(MIB)
    .openapi({
      description:
        "Per stream. Output beyond it is dropped while reading (memory stays bounded), `truncated` is set, byte totals " +
        "still count everything, and the exit code is still collected.",
    }),
};

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const base64String = z.string().max(12 * MIB).refine((v) => v.length % 4 === 0 && base64Pattern.test(v), "must be standard base64");
const secretNote = "Secret-grade: encrypted at rest while queued, erased once delivered, never logged, audited or echoed, and scrubbed from stored output.";

export const secretFieldsShape = {
  stdin: z.string().max(8 * MIB).optional().openapi({ description: `Input for the command (UTF-8). ${secretNote}` }),
  stdinBase64: base64String.optional().openapi({ description: `Input for the command, as base64 bytes. ${secretNote}` }),
  files: z
    .array(
      z.strictObject({
        path: z
          .string()
          .min(2)
          .max(4096)
          .regex(/^\//, "must be an absolute path")
          .refine(noNul, "must not contain NUL bytes")
          .refine((p) => !p.endsWith("/") && !p.split("/").includes(".."), "must name a file (no trailing '/', no '..')"),
        content: z.string().max(8 * MIB).optional(),
        contentBase64: base64String.optional(),
        mode: z
          .string()
          .regex(/^0?[0-7]{3}$/, "an octal mode such as \"0600\"")
          .default("0600"),
      }),
    )
    .max(64)
    .optional()
    .openapi({
      description:
        "Files written before the command runs: parent directories created (umask 077), content written to a temporary " +
        `file in the same directory, mode applied, then renamed into place, so a reader never sees a partial file. ${secretNote}`,
    }),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an environment variable name"),
      z.string().max(MIB).refine(noNul, "must not contain NUL bytes"),
    )
    .optional()
    .openapi({ description: `Variables for this command only. ${secretNote}` }),
};

function refineSubmit(body: { command?: string | undefined; argv?: string[] | undefined; stdin?: string | undefined; stdinBase64?: string | undefined; files?: { path: string; content?: string | undefined; contentBase64?: string | undefined }[] | undefined; env?: Record<string, string> | undefined }, ctx: z.RefinementCtx): void {
  if ((body.command === undefined) === (body.argv === undefined)) {
    ctx.addIssue({ code: "custom", path: ["command"], message: "give exactly one of `command` (shell) or `argv` (exec)" });
  }
  if (body.stdin !== undefined && body.stdinBase64 !== undefined) {
    ctx.addIssue({ code: "custom", path: ["stdinBase64"], message: "give at most one of `stdin` or `stdinBase64`" });
  }
  const seen = new Set<string>();
  body.files?.forEach((file, index) => {
    if ((file.content === undefined) === (file.contentBase64 === undefined)) {
      ctx.addIssue({ code: "custom", path: ["files", index, "content"], message: "give exactly one of `content` or `contentBase64`" });
    }
    if (seen.has(file.path)) ctx.addIssue({ code: "custom", path: ["files", index, "path"], message: "each path at most once" });
    seen.add(file.path);
  });
  if (body.env && Object.keys(body.env).length > 128) {
    ctx.addIssue({ code: "custom", path: ["env"], message: "at most 128 variables" });
  }
}

export const submitBodySchema = z
  .strictObject({ ...submitFieldsShape, ...secretFieldsShape })
  .superRefine(refineSubmit)
  .openapi("SubmitRequest");
export type SubmitBody = z.infer<typeof submitBodySchema>;

export const idempotencyHeaderSchema = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
    .optional()
    .openapi({
      param: { name: "idempotency-key", in: "header" },
      description:
        "The same principal, key and body return the same job (for the retention period); the same key with a different body is 409 IDEMPOTENCY_CONFLICT.",
    }),
});

export const submitQuerySchema = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(60)
    .optional()
    .openapi({ param: { name: "wait", in: "query" }, description: "Seconds to block until the job ends (0-60)." }),
});

const outputFields = {
  stdout: z.string().openapi({ description: "Standard output as UTF-8 text (invalid sequences replaced, see stdoutBase64)." }),
  stderr: z.string(),
  stdoutBase64: z
    .string()
    .nullable()
    .openapi({ description: "The exact stdout bytes, base64, present only when stdout is not valid UTF-8." }),
  stderrBase64: z.string().nullable(),
};

export const jobResultSchema = z
  .object({
    ...outputFields,
    exitCode: z.number().int().nullable().openapi({ description: "Null when the command did not exit by itself (timed out, canceled)." }),
    truncated: z.boolean(),
    stdoutBytes: z.number().int().openapi({ description: "Bytes the command wrote, including any past the cap." }),
    stderrBytes: z.number().int(),
    durationMs: z.number().int(),
  })
  .openapi("JobResult");

export const jobSchema = z
  .object({
    id: z.string(),
    status: z.enum(JOB_STATUSES),
    target: z.object({
      dseq: z.string(),
      gseq: z.number().int(),
      oseq: z.number().int(),
      service: z.string(),
      podIndex: z.number().int(),
      provider: z.string(),
    }),
    request: z.object({
      mode: z.enum(["shell", "exec"]),
      command: z.string().nullable(),
      argv: z.array(z.string()).nullable(),
      timeout: z.number().int(),
      workdir: z.string().nullable(),
      maxOutputBytes: z.number().int(),
      stdinBytes: z.number().int().openapi({ description: "Size of the input given (its content is never echoed)." }),
      files: z.array(z.object({ path: z.string(), mode: z.string(), bytes: z.number().int() })).openapi({
        description: "Files delivered (paths and sizes only; contents are never echoed).",
      }),
      envNames: z.array(z.string()).openapi({ description: "Names of the variables given (values are never echoed)." }),
    }),
    batchId: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    result: jobResultSchema.nullable(),
    error: z
      .object({ code: z.enum(JOB_ERROR_CODES), message: z.string(), commandMayHaveRun: z.boolean() })
      .nullable(),
    links: z.object({ self: z.string(), wait: z.string() }),
  })
  .openapi("Job");
export type JobView = z.infer<typeof jobSchema>;

export const jobIdParamSchema = z.object({
  id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }),
});

export const waitQuerySchema = z.object({
  timeout: z.coerce.number().int().min(1).max(60).default(30).openapi({ param: { name: "timeout", in: "query" } }),
});

export const listJobsQuerySchema = z.object({
  status: z.enum(JOB_STATUSES).optional().openapi({ param: { name: "status", in: "query" } }),
  dseq: dseqSchema.optional().openapi({ param: { name: "dseq", in: "query" } }),
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z.string().max(512).optional().openapi({ param: { name: "cursor", in: "query" } }),
});

export const jobResultSummarySchema = jobResultSchema
  .omit({ stdout: true, stderr: true, stdoutBase64: true, stderrBase64: true })
  .openapi("JobResultSummary");

/** A job in a listing: the same as a job, but its result carries no output (read the job for that). */
export const jobSummarySchema = jobSchema.extend({ result: jobResultSummarySchema.nullable() }).openapi("JobSummary");
export type JobSummaryView = z.infer<typeof jobSummarySchema>;

export const jobListSchema = z
  .object({ jobs: z.array(jobSummarySchema), nextCursor: z.string().nullable() })
  .openapi("JobList");
