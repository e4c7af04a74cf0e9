import type { Context, MiddlewareHandler } from "hono";
import type { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import { ShellExecError } from "../errors.ts";
import type { AuthEnv } from "../middleware/authenticate.ts";

/** Error codes that are refusals of the caller (who or how much), as opposed to failures of the request. */
export const REFUSAL_CODES = ["UNAUTHENTICATED", "FORBIDDEN", "COMMAND_NOT_ALLOWED", "RATE_LIMITED"] as const;

export interface AuditRefusalsOptions {
  auditLog: AuditLog;
  logger: Logger;
  /** The caller's address, e.g. `(c) => getConnInfo(c).remote.address ?? null` from `@hono/node-server/conninfo`. */
  clientAddress: (c: Context) => string | null;
  /** Which codes to record here; leave out one the service records itself with more detail (e.g. COMMAND_NOT_ALLOWED with the command). */
  codes?: readonly string[];
}

/**
 * Records a `refusal` audit entry for every request refused with one of `codes`. Mount it before `authenticate`, so
 * it also sees authentication refusals: by the time `next()` returns, Hono's error handler has turned the thrown
 * error into the response and left it in `c.error`. A failing audit write is logged and does not change the answer.
 */
export function auditRefusals(options: AuditRefusalsOptions): MiddlewareHandler<AuthEnv> {
  const codes = new Set(options.codes ?? REFUSAL_CODES);
  return async (c, next) => {
    await next();
    const error = c.error;
    if (!(error instanceof ShellExecError) || !codes.has(error.code)) return;
    const principal = c.get("principal") as AuthEnv["Variables"]["principal"] | undefined;
    try {
      await options.auditLog.record({
        event: "refusal",
        errorCode: error.code,
        principalId: principal?.id ?? null,
        wallet: principal?.wallet ?? null,
        requestId: c.get("requestId") ?? null,
        clientAddress: options.clientAddress(c),
      });
    } catch (auditError) {
      options.logger.error({ err: auditError, requestId: c.get("requestId") }, "could not record a refusal in the audit log");
    }
  };
}
