import { InvalidAuditCursorError, type AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import { ValidationError } from "../errors.ts";
import { requirePermission } from "../middleware/authenticate.ts";
import type { AuditPageView, AuditQueryParams } from "./audit.schemas.ts";
import type { Principal } from "./principal.ts";

/** `GET /v1/audit`: the principal's own wallet's entries; needs `audit:read`. */
export async function readAudit(auditLog: AuditLog, principal: Principal, query: AuditQueryParams): Promise<AuditPageView> {
  requirePermission(principal, "audit:read");
  const since = query.since ? new Date(query.since) : undefined;
  const until = query.until ? new Date(query.until) : undefined;
  if (since && until && since > until) throw new ValidationError("Invalid query: since is after until.", [{ field: "since", message: "must not be after until" }]);
  try {
    return await auditLog.query({ wallet: principal.wallet, event: query.event, jobId: query.jobId, since, until, cursor: query.cursor, limit: query.limit });
  } catch (error) {
    if (error instanceof InvalidAuditCursorError) throw new ValidationError("Invalid cursor.", [{ field: "cursor", message: error.message }]);
    throw error;
  }
}
