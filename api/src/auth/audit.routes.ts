import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../schemas/common.schemas.ts";
import { auditPageSchema, auditQuerySchema } from "./audit.schemas.ts";

const security: Record<string, string[]>[] = [{ ApiKey: [] }, { Bearer: [] }];

export const listAuditRoute = createRoute({
  method: "get",
  path: "/v1/audit",
  operationId: "listAuditEntries",
  summary: "Read your wallet's audit trail, newest first",
  description:
    "Submits, cancels, refusals (authentication, permission, command policy, limits) and job outcomes of your wallet, " +
    "kept for the configured retention. Needs the `audit:read` permission. A page may hold fewer than `limit` entries " +
    "while `nextCursor` is set (a sparse filter reads a bounded number of entries per request): go on until it is null.",
  tags: ["Audit"],
  security,
  request: { query: auditQuerySchema },
  responses: {
    200: { description: "A page of entries; pass `nextCursor` as `cursor` for the next.", content: { "application/json": { schema: auditPageSchema } } },
    ...errorResponses(400, 401, 403),
  },
});
