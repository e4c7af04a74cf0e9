import { ShellExecError } from "@shell-exec/shared/errors.ts";

export { ShellExecError };

export class ValidationError extends ShellExecError {
  constructor(message: string, details: { field: string; message: string }[]) {
    super("VALIDATION_ERROR", 400, message, { details });
  }
}

export class UnauthenticatedError extends ShellExecError {
  constructor(message = "Send a valid `x-api-key` or `Authorization: Bearer <JWT>` header.") {
    super("UNAUTHENTICATED", 401, message);
  }
}

export class ForbiddenError extends ShellExecError {
  constructor(permission: string) {
    super("FORBIDDEN", 403, `These credentials lack the \`${permission}\` permission.`, { details: { permission } });
  }
}

export class JobNotFoundError extends ShellExecError {
  constructor(id: string) {
    super("JOB_NOT_FOUND", 404, `No job ${id} (it may have expired).`, { details: { id } });
  }
}

export class AlreadyFinishedError extends ShellExecError {
  constructor(id: string, status: string) {
    super("ALREADY_FINISHED", 409, `Job ${id} already ended (${status}).`, { details: { id, status } });
  }
}

export class QueueFullError extends ShellExecError {
  constructor(waiting: number) {
    super("QUEUE_FULL", 429, `The queue holds ${waiting} jobs waiting to run; try again shortly.`, { retryAfterSeconds: 5 });
  }
}

export class UnavailableError extends ShellExecError {
  constructor(message: string, cause?: unknown) {
    super("UNAVAILABLE", 503, message, { cause, retryAfterSeconds: 5 });
  }
}
