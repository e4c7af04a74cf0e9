import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../schemas/common.schemas.ts";
import {
  idempotencyHeaderSchema,
  jobIdParamSchema,
  jobListSchema,
  jobSchema,
  leasePathSchema,
  listJobsQuerySchema,
  submitBodySchema,
  submitQuerySchema,
  waitQuerySchema,
} from "../schemas/job.schemas.ts";

const security: Record<string, string[]>[] = [{ ApiKey: [] }, { Bearer: [] }];
const tags = ["Jobs"];
const jobJson = { "application/json": { schema: jobSchema } };

export const submitJobRoute = createRoute({
  method: "post",
  path: "/v1/deployments/{dseq}/leases/{gseq}/{oseq}/shell-exec",
  operationId: "submitShellExec",
  summary: "Run a command in a lease's container",
  description:
    "Resolves the deployment and lease on chain (owner = your wallet), stores the job and queues it. Answers 202 with " +
    "the job at once, or, with `?wait=N`, blocks up to N seconds and answers 200 when the job ended by then. A 202 " +
    "means the job is stored. The command is sent to the provider at most once.",
  tags,
  security,
  request: {
    params: leasePathSchema,
    query: submitQuerySchema,
    headers: idempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: submitBodySchema } } },
  },
  responses: {
    200: { description: "The job ended within `wait`.", content: jobJson },
    202: {
      description: "Accepted and stored; poll `Location` or wait on `links.wait`.",
      headers: { Location: { schema: { type: "string" }, description: "The job's URL." } },
      content: jobJson,
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 503),
  },
});

export const getJobRoute = createRoute({
  method: "get",
  path: "/v1/shell-exec/jobs/{id}",
  operationId: "getShellExecJob",
  summary: "Read a job",
  tags,
  security,
  request: { params: jobIdParamSchema },
  responses: { 200: { description: "The job.", content: jobJson }, ...errorResponses(401, 403, 404) },
});

export const waitJobRoute = createRoute({
  method: "get",
  path: "/v1/shell-exec/jobs/{id}/wait",
  operationId: "waitShellExecJob",
  summary: "Wait for a job to end",
  description: "Blocks until the job ends (200) or `timeout` seconds pass (202 with the job as it stands).",
  tags,
  security,
  request: { params: jobIdParamSchema, query: waitQuerySchema },
  responses: {
    200: { description: "The job ended.", content: jobJson },
    202: { description: "Still running after `timeout` seconds.", content: jobJson },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const cancelJobRoute = createRoute({
  method: "delete",
  path: "/v1/shell-exec/jobs/{id}",
  operationId: "cancelShellExecJob",
  summary: "Cancel a job",
  description:
    "A queued job ends `canceled` and never runs. A running job is aborted by the worker holding it (within about a " +
    "second) and its process is stopped inside the container through a second exec; the job ends `canceled` and its " +
    "`error.message` says whether the kill was confirmed. Answers 202 with the job as it stands; wait on it for the end.",
  tags,
  security,
  request: { params: jobIdParamSchema },
  responses: {
    202: { description: "Canceled (or cancel under way).", content: jobJson },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export const listJobsRoute = createRoute({
  method: "get",
  path: "/v1/shell-exec/jobs",
  operationId: "listShellExecJobs",
  summary: "List your jobs, newest first",
  description: "Listed jobs carry their result without output; read a job for its stdout and stderr.",
  tags,
  security,
  request: { query: listJobsQuerySchema },
  responses: {
    200: { description: "A page of jobs; pass `nextCursor` as `cursor` for the next.", content: { "application/json": { schema: jobListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});
