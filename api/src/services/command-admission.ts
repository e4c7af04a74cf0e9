import type { AuditLog } from "@shell-exec/shared/audit/audit-log.ts";
import type { AuditCommand, AuditTarget } from "@shell-exec/shared/audit/audit-event.ts";
import { ShellExecError } from "@shell-exec/shared/errors.ts";
import type { Logger } from "@shell-exec/shared/logger.ts";
import type { Principal } from "../auth/principal.ts";
import type { CommandPolicy, CommandSubject } from "../policy/command-policy.ts";

/** Where a request came from, for the audit trail. */
export interface RequestContext {
  requestId: string | null;
  clientAddress: string | null;
}

export const NO_REQUEST_CONTEXT: RequestContext = { requestId: null, clientAddress: null };

/** A refused command is recorded as its digest only: it may be the very thing that should not be stored. */
export function auditCommand(subject: CommandSubject, sensitive: boolean): AuditCommand {
  return subject.mode === "shell" ? { mode: "shell", command: subject.command, sensitive } : { mode: "exec", argv: [...subject.argv], sensitive };
}

/**
 * The command policy for one command: returns whether the audit keeps only its digest, or records the refusal (with
 * the target and the command's digest) and throws COMMAND_NOT_ALLOWED.
 */
export async function admitCommand(
  deps: { policy: CommandPolicy; audit: AuditLog; logger: Logger },
  principal: Principal,
  target: AuditTarget,
  subject: CommandSubject,
  context: RequestContext,
): Promise<{ sensitive: boolean }> {
  try {
    return { sensitive: deps.policy.check(principal.id, subject).sensitive };
  } catch (error) {
    await deps.audit
      .record({
        event: "refusal",
        errorCode: error instanceof ShellExecError ? error.code : "COMMAND_NOT_ALLOWED",
        principalId: principal.id,
        wallet: principal.wallet,
        target,
        command: auditCommand(subject, true),
        ...context,
      })
      .catch((auditError: unknown) => deps.logger.error({ err: auditError }, "audit write failed"));
    throw error;
  }
}
