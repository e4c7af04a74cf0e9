import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../schemas/common.schemas.ts";

const tags = ["Service"];

export const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "healthz",
  summary: "The process is alive",
  tags,
  responses: { 200: { description: "Alive.", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
});

export const readyzRoute = createRoute({
  method: "get",
  path: "/readyz",
  operationId: "readyz",
  summary: "The queue store (Redis) is reachable",
  tags,
  responses: {
    200: { description: "Ready.", content: { "application/json": { schema: z.object({ status: z.literal("ready") }) } } },
    ...errorResponses(503),
  },
});
