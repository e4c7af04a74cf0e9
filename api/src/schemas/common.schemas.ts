import { z } from "@hono/zod-openapi";

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_ERROR" }),
      message: z.string().openapi({ example: "timeout: must be at most 3600" }),
      details: z.unknown().optional(),
    }),
    requestId: z.string(),
  })
  .openapi("Error", { description: "Every error response has this shape; `code` is stable, `message` is for people." });

export function errorResponses(...statuses: number[]): Record<number, { description: string; content: { "application/json": { schema: typeof errorEnvelopeSchema } } }> {
  const descriptions: Record<number, string> = {
    400: "Invalid input; `details` names each bad field (`VALIDATION_ERROR`).",
    401: "No valid credentials (`UNAUTHENTICATED`).",
    403: "The credentials lack the permission this route needs (`FORBIDDEN`).",
    404: "No such resource for this principal (someone else's looks exactly like a missing one).",
    409: "The resource is in a state that does not allow this.",
    413: "The body is larger than the configured limit (`PAYLOAD_TOO_LARGE`).",
    415: "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`).",
    429: "Too many requests or a full queue; see `Retry-After`.",
    503: "The queue store (Redis) or the chain could not be reached; nothing was accepted.",
  };
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: descriptions[status] ?? "Error", content: { "application/json": { schema: errorEnvelopeSchema } } },
    ]),
  );
}
