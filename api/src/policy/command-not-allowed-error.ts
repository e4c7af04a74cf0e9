import { ShellExecError } from "@shell-exec/shared/errors.ts";

export type PolicyRuleKind = "deny" | "allow";
/** `global`: the installation's rules; `principal`: the caller's own rules. Never another principal's. */
export type PolicyRuleScope = "global" | "principal";

const MESSAGES: Record<PolicyRuleKind, string> = {
  deny: "The command matches a deny rule of this server's command policy.",
  allow: "The command matches none of the commands this server's policy allows.",
};

/** 403: the command policy refuses the command. Names the kind of rule, never the rule itself. */
export class CommandNotAllowedError extends ShellExecError {
  constructor(refusal: { rule: PolicyRuleKind; scope: PolicyRuleScope }) {
    super("COMMAND_NOT_ALLOWED", 403, MESSAGES[refusal.rule], { details: { rule: refusal.rule, scope: refusal.scope } });
  }
}
