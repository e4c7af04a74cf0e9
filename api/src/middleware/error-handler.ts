import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { ShellExecError, ValidationError } from "../errors.ts";

export function requestIdOf(c: Context): string {
  const id: unknown = c.get("requestId");
  return typeof id === "string" ? id : "";
}

export function errorBody(c: Context, code: string, message: string, details?: unknown) {
  return {
    error: details === undefined ? { code, message } : { code, message, details },
    requestId: requestIdOf(c),
  };
}

/** The one place typed errors become HTTP responses. Anything untyped is a 500 that is logged, never shown. */
export function createErrorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof ShellExecError) {
      if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
      if (error.status >= 500) logger.warn({ err: error, requestId: requestIdOf(c) }, error.message);
      return c.json(errorBody(c, error.code, error.message, error.details), error.status as 400);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 413 ? "PAYLOAD_TOO_LARGE" : status === 401 ? "UNAUTHENTICATED" : "BAD_REQUEST";
      return c.json(errorBody(c, code, error.message || "Bad request."), status);
    }
    logger.error({ err: error, requestId: requestIdOf(c) }, "unhandled error");
    return c.json(errorBody(c, "INTERNAL_ERROR", "Something went wrong on our side; the request id helps us find it."), 500);
  };
}

export function validationErrorFromZod(error: ZodError, target: string): ValidationError {
  const details = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : target,
    message: issue.message,
  }));
  const summary = details.map((d) => `${d.field}: ${d.message}`).join("; ");
  return new ValidationError(`Invalid ${target}: ${summary}`, details);
}
