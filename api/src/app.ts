import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import type { Redis } from "ioredis";
import type { Logger } from "@shell-exec/shared/logger.ts";
import type { PrincipalSource } from "./auth/principal.ts";
import { ShellExecError, UnavailableError } from "./errors.ts";
import { authenticate, type AuthEnv } from "./middleware/authenticate.ts";
import { createErrorHandler, errorBody, validationErrorFromZod } from "./middleware/error-handler.ts";
import { healthzRoute, readyzRoute } from "./routes/service.routes.ts";
import { cancelJobRoute, getJobRoute, listJobsRoute, submitJobRoute, waitJobRoute } from "./routes/shell-exec.routes.ts";
import type { ShellExecService } from "./services/shell-exec.service.ts";
import type { BatchService } from "./services/batch.service.ts";
import { cancelBatchRoute, createBatchRoute, getBatchRoute, listBatchJobsRoute, waitBatchRoute } from "./routes/batch.routes.ts";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import type { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import { auditRefusals } from "./auth/audit-refusals.ts";
import { listAuditRoute } from "./auth/audit.routes.ts";
import { readAudit } from "./auth/audit-query.ts";
import type { RequestContext } from "./services/shell-exec.service.ts";

function clientAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

function requestContext(c: Context): RequestContext {
  const id: unknown = c.get("requestId");
  return { requestId: typeof id === "string" ? id : null, clientAddress: clientAddress(c) };
}

export interface AppDeps {
  shellExec: ShellExecService;
  batches: BatchService;
  principalSources: readonly PrincipalSource[];
  redis: Redis;
  logger: Logger;
  maxBodyBytes: number;
  /** Batches carry per-target inputs, so they get their own (larger) body limit. */
  maxBatchBodyBytes: number;
  audit: AuditLog;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

function requireJsonBody(): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (c.req.method === "POST" || c.req.method === "PUT" || c.req.method === "PATCH") {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) {
        throw new ShellExecError("UNSUPPORTED_MEDIA_TYPE", 415, "Send the body as JSON with `Content-Type: application/json`.");
      }
    }
    await next();
  };
}

export function createApp(deps: AppDeps): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationErrorFromZod(result.error, result.target === "json" ? "body" : result.target);
      return undefined;
    },
  });
  const { shellExec } = deps;

  app.use(
    requestId({
      headerName: "x-request-id",
      generator: () => crypto.randomUUID(),
    }),
  );
  app.use(async (c, next) => {
    const incoming = c.req.header("x-request-id");
    if (incoming && !REQUEST_ID_PATTERN.test(incoming)) c.set("requestId", crypto.randomUUID());
    await next();
    c.header("x-request-id", c.get("requestId"));
  });
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) => c.json(errorBody(c, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`), 404));

  app.openapi(healthzRoute, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(readyzRoute, async (c) => {
    try {
      await deps.redis.ping();
    } catch (error) {
      throw new UnavailableError("Redis does not answer.", error);
    }
    return c.json({ status: "ready" as const }, 200);
  });

  app.use("/v1/*", requireJsonBody());
  const limit = (maxSize: number) =>
    bodyLimit({ maxSize, onError: (c) => c.json(errorBody(c, "PAYLOAD_TOO_LARGE", `The body exceeds ${maxSize} bytes.`), 413) });
  app.use("/v1/shell-exec/batches", limit(deps.maxBatchBodyBytes));
  app.use("/v1/deployments/*", limit(deps.maxBodyBytes));
  // Before authenticate, so it sees authentication refusals too; policy refusals are recorded by the services with
  // the command's details.
  app.use("/v1/*", auditRefusals({ auditLog: deps.audit, logger: deps.logger, clientAddress, codes: ["UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED"] }));
  app.use("/v1/*", authenticate(deps.principalSources));

  app.openapi(submitJobRoute, async (c) => {
    const { wait } = c.req.valid("query");
    const { job, finished } = await shellExec.submit(c.get("principal"), c.req.valid("param"), c.req.valid("json"), {
      waitSeconds: wait,
      signal: c.req.raw.signal,
      idempotencyKey: c.req.valid("header")["idempotency-key"],
      context: requestContext(c),
    });
    if (finished) return c.json(job, 200);
    c.header("Location", job.links.self);
    return c.json(job, 202);
  });
  app.openapi(listJobsRoute, async (c) => c.json(await shellExec.list(c.get("principal"), c.req.valid("query")), 200));
  app.openapi(getJobRoute, async (c) => c.json(await shellExec.get(c.get("principal"), c.req.valid("param").id), 200));
  app.openapi(waitJobRoute, async (c) => {
    const { job, finished } = await shellExec.wait(c.get("principal"), c.req.valid("param").id, c.req.valid("query").timeout, c.req.raw.signal);
    return c.json(job, finished ? 200 : 202);
  });
  app.openapi(cancelJobRoute, async (c) => c.json(await shellExec.cancel(c.get("principal"), c.req.valid("param").id, requestContext(c)), 202));
  app.openapi(listAuditRoute, async (c) => c.json(await readAudit(deps.audit, c.get("principal"), c.req.valid("query")), 200));

  const { batches } = deps;
  app.openapi(createBatchRoute, async (c) =>
    c.json(
      await batches.create(c.get("principal"), c.req.valid("json"), {
        idempotencyKey: c.req.valid("header")["idempotency-key"],
        context: requestContext(c),
      }),
      202,
    ),
  );
  app.openapi(getBatchRoute, async (c) => c.json(await batches.get(c.get("principal"), c.req.valid("param").id), 200));
  app.openapi(listBatchJobsRoute, async (c) =>
    c.json(await batches.listJobs(c.get("principal"), c.req.valid("param").id, c.req.valid("query")), 200),
  );
  app.openapi(waitBatchRoute, async (c) => {
    const { batch, finished } = await batches.wait(c.get("principal"), c.req.valid("param").id, c.req.valid("query").timeout, c.req.raw.signal);
    return c.json(batch, finished ? 200 : 202);
  });
  app.openapi(cancelBatchRoute, async (c) =>
    c.json(await batches.cancel(c.get("principal"), c.req.valid("param").id, (principal, jobId) => shellExec.cancel(principal, jobId, requestContext(c))), 202),
  );

  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", { type: "apiKey", in: "header", name: "x-api-key" });
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "shell-exec",
      version: "0.1.0",
      description:
        "Run commands inside Akash Network deployment containers over a plain REST API: fire and poll, blocking " +
        "calls and bulk batches. Exit codes never lie, output is never silently cut, a command is sent at most once.",
    },
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "shell-exec API" }));
  return app;
}
