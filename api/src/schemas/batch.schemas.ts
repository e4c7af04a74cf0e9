import { z } from "@hono/zod-openapi";
import { BATCH_STATUSES } from "@shell-exec/shared/batches/batch-model.ts";
import { JOB_STATUSES } from "@shell-exec/shared/jobs/job-model.ts";
import { jobSummarySchema, leasePathSchema } from "./job.schemas.ts";

export const MAX_BATCH_TARGETS = 10_000;

const leaseRef = leasePathSchema.shape;

/**
 * Targets and defaults are checked field by field once merged (a target's fields override `defaults`), with the very
 * schema of a single submit, so a batch target accepts exactly what a submit does.
 */
export const batchBodySchema = z
  .strictObject({
    defaults: z.record(z.string(), z.unknown()).default({}).openapi({
      description: "Any submit field (service, command or argv, timeout, files, env, …) applied to every target.",
      example: { service: "web", command: "test -s /run/secrets/db_password", timeout: 60 },
    }),
    targets: z
      .array(
        z.looseObject({ dseq: leaseRef.dseq, gseq: z.number().int().min(0), oseq: z.number().int().min(0) }).openapi({
          description: "A lease, plus any submit field overriding `defaults` (e.g. per-target `files`).",
        }),
      )
      .min(1)
      .max(MAX_BATCH_TARGETS),
    concurrency: z.number().int().min(1).max(1000).default(10).openapi({
      description: "At most this many of the batch's jobs run at once, across the whole worker fleet.",
    }),
    maxErrors: z
      .union([z.number().int().min(0), z.string().regex(/^(100|[1-9]?[0-9])(\.[0-9]+)?%$/, 'a percentage such as "10%"')])
      .optional()
      .openapi({
        description:
          "Error budget: once more targets than this (a count, or a percentage of the accepted targets, rounded down) " +
          "end in anything but `succeeded`, no further targets start and the rest end `skipped`. Default: no budget.",
      }),
    allOrNothing: z.boolean().default(false).openapi({
      description: "When true, any target that cannot be resolved (unknown or inactive lease) refuses the whole batch.",
    }),
  })
  .openapi("BatchRequest");
export type BatchBody = z.infer<typeof batchBodySchema>;

const countsSchema = z.object(Object.fromEntries([...JOB_STATUSES].map((s) => [s, z.number().int()])) as Record<(typeof JOB_STATUSES)[number], z.ZodNumber>);

export const rejectedTargetSchema = z.object({
  index: z.number().int(),
  dseq: z.string(),
  gseq: z.number().int(),
  oseq: z.number().int(),
  error: z.object({ code: z.string(), message: z.string() }),
});

export const batchSchema = z
  .object({
    id: z.string(),
    status: z.enum(BATCH_STATUSES),
    total: z.number().int().openapi({ description: "Targets accepted (each has a job)." }),
    counts: countsSchema,
    concurrency: z.number().int(),
    maxErrors: z.number().int(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    rejected: z.array(rejectedTargetSchema).openapi({ description: "Targets refused at submit (only in the submit answer)." }),
    links: z.object({ self: z.string(), jobs: z.string(), wait: z.string() }),
  })
  .openapi("Batch");
export type BatchView = z.infer<typeof batchSchema>;

export const batchIdParamSchema = z.object({
  id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }),
});

export const batchJobsQuerySchema = z.object({
  status: z.enum(JOB_STATUSES).optional().openapi({ param: { name: "status", in: "query" } }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z.string().regex(/^[0-9]{1,6}$/, "a cursor this API returned").optional().openapi({ param: { name: "cursor", in: "query" } }),
});

export const batchJobListSchema = z
  .object({ jobs: z.array(jobSummarySchema), nextCursor: z.string().nullable() })
  .openapi("BatchJobList");
