import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../schemas/common.schemas.ts";
import { batchBodySchema, batchIdParamSchema, batchJobListSchema, batchJobsQuerySchema, batchSchema } from "../schemas/batch.schemas.ts";
import { idempotencyHeaderSchema, waitQuerySchema } from "../schemas/job.schemas.ts";

const security: Record<string, string[]>[] = [{ ApiKey: [] }, { Bearer: [] }];
const tags = ["Batches"];
const batchJson = { "application/json": { schema: batchSchema } };

export const createBatchRoute = createRoute({
  method: "post",
  path: "/v1/shell-exec/batches",
  operationId: "createShellExecBatch",
  summary: "Run a command across many deployments",
  description:
    "Validates every target (merged over `defaults`), resolves each lease on chain, stores one ordinary job per " +
    "accepted target and starts at most `concurrency` of them at a time across the worker fleet. Targets that cannot " +
    "be resolved are listed in `rejected` (or refuse the whole batch with `allOrNothing`). Batch targets run in their " +
    "own queue and worker slots, so single execs never wait behind a batch.",
  tags,
  security,
  request: {
    headers: idempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: batchBodySchema } } },
  },
  responses: {
    202: { description: "Accepted and stored.", content: batchJson },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 503),
  },
});

export const getBatchRoute = createRoute({
  method: "get",
  path: "/v1/shell-exec/batches/{id}",
  operationId: "getShellExecBatch",
  summary: "Read a batch and its exact counts",
  tags,
  security,
  request: { params: batchIdParamSchema },
  responses: { 200: { description: "The batch.", content: batchJson }, ...errorResponses(401, 403, 404) },
});

export const listBatchJobsRoute = createRoute({
  method: "get",
  path: "/v1/shell-exec/batches/{id}/jobs",
  operationId: "listShellExecBatchJobs",
  summary: "The batch's per-target jobs, in target order",
  tags,
  security,
  request: { params: batchIdParamSchema, query: batchJobsQuerySchema },
  responses: {
    200: { description: "A page of jobs.", content: { "application/json": { schema: batchJobListSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const waitBatchRoute = createRoute({
  method: "get",
  path: "/v1/shell-exec/batches/{id}/wait",
  operationId: "waitShellExecBatch",
  summary: "Wait for a batch to end",
  description: "200 as soon as no target is queued or running any more; 202 with the batch as it stands after `timeout` seconds.",
  tags,
  security,
  request: { params: batchIdParamSchema, query: waitQuerySchema },
  responses: {
    200: { description: "The batch ended.", content: batchJson },
    202: { description: "Still running.", content: batchJson },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const cancelBatchRoute = createRoute({
  method: "delete",
  path: "/v1/shell-exec/batches/{id}",
  operationId: "cancelShellExecBatch",
  summary: "Cancel a batch",
  description: "Targets not yet started end `canceled`; running ones are canceled like single jobs (their processes stopped).",
  tags,
  security,
  request: { params: batchIdParamSchema },
  responses: { 202: { description: "Canceled.", content: batchJson }, ...errorResponses(401, 403, 404, 409) },
});
