import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "@shell-exec/shared/config/env.ts";
import { CommandNotAllowedError, type PolicyRuleKind, type PolicyRuleScope } from "./command-not-allowed-error.ts";

/**
 * What a policy looks at. Shell mode: the command string exactly as `/bin/sh -c` gets it. Exec mode: the argv
 * elements joined by single spaces (`["ls","-la","/"]` → `ls -la /`), so one rule set covers both modes; note that
 * an element containing spaces reads like several arguments then.
 */
export type CommandSubject = { mode: "shell"; command: string } | { mode: "exec"; argv: readonly string[] };

/** The subject of a submit body (validated: exactly one of `command`, `argv`); also the `command` of its audit entry. */
export function commandSubjectFromBody(body: { command?: string | undefined; argv?: readonly string[] | undefined }): CommandSubject {
  if (body.command !== undefined) return { mode: "shell", command: body.command };
  if (body.argv !== undefined) return { mode: "exec", argv: body.argv };
  throw new Error("a submit body has a command or an argv");
}

export function commandSubjectText(subject: CommandSubject): string {
  return subject.mode === "shell" ? subject.command : subject.argv.join(" ");
}

const ruleListSchema = z.array(z.string().min(1)).default([]);
const ruleSetSchema = z
  .object({
    /** Each must match the WHOLE command (anchored as `^(?:rule)$`): `ls` allows `ls`, not `ls; rm -rf /`. */
    allow: ruleListSchema,
    /** Each refuses a command it matches ANYWHERE (unanchored search): `rm\s+-rf` refuses `cd /; rm -rf x`. */
    deny: ruleListSchema,
    /** Commands matching one (anywhere) are audited as their SHA-256 digest, not in clear. */
    sensitive: ruleListSchema,
  })
  .strict();

export const commandPolicyConfigSchema = z
  .object({
    global: ruleSetSchema.default({ allow: [], deny: [], sensitive: [] }),
    /** By principal id (`key:<id>` for API keys, `jwt:<sub>` for bearer tokens). */
    principals: z.record(z.string().min(1), ruleSetSchema).default({}),
  })
  .strict();
export type CommandPolicyConfig = z.input<typeof commandPolicyConfigSchema>;

interface CompiledRules {
  allow: RegExp[];
  deny: RegExp[];
  sensitive: RegExp[];
}

export type PolicyDecision =
  | { allowed: true; sensitive: boolean }
  | { allowed: false; rule: PolicyRuleKind; scope: PolicyRuleScope };

function compile(rules: z.output<typeof ruleSetSchema>, path: string, issues: string[]): CompiledRules {
  const build = (kind: keyof CompiledRules, wrap: (source: string) => string) =>
    rules[kind].flatMap((source, index) => {
      try {
        return [new RegExp(wrap(source), "u")];
      } catch (error) {
        issues.push(`${path}.${kind}[${index}]: not a valid regular expression (${error instanceof Error ? error.message : "?"})`);
        return [];
      }
    });
  return {
    allow: build("allow", (source) => `^(?:${source})$`),
    deny: build("deny", (source) => source),
    sensitive: build("sensitive", (source) => source),
  };
}

/**
 * Which commands each principal may run: optional allow and deny lists (regular expressions), global and per
 * principal. Deny wins over allow. Each allow list that is present must be passed, so a principal's list can only
 * narrow what the global list allows, never widen it. Rules come from the operator and are trusted: a pathological
 * pattern would cost CPU on every submit.
 */
export class CommandPolicy {
  readonly #global: CompiledRules;
  readonly #principals: ReadonlyMap<string, CompiledRules>;

  private constructor(global: CompiledRules, principals: ReadonlyMap<string, CompiledRules>) {
    this.#global = global;
    this.#principals = principals;
  }

  /** Allows everything, marks nothing sensitive: the policy without configuration. */
  static permissive(): CommandPolicy {
    return new CommandPolicy({ allow: [], deny: [], sensitive: [] }, new Map());
  }

  /** Throws a ConfigError naming every bad rule by its place in the configuration. */
  static fromConfig(input: unknown, origin = "command policy"): CommandPolicy {
    const parsed = commandPolicyConfigSchema.safeParse(input);
    if (!parsed.success) {
      throw new ConfigError(parsed.error.issues.map((issue) => `${origin}: ${issue.path.join(".") || "(root)"}: ${issue.message}`));
    }
    const issues: string[] = [];
    const global = compile(parsed.data.global, `${origin}: global`, issues);
    const principals = new Map(Object.entries(parsed.data.principals).map(([id, rules]) => [id, compile(rules, `${origin}: principals["${id}"]`, issues)]));
    if (issues.length > 0) throw new ConfigError(issues);
    return new CommandPolicy(global, principals);
  }

  evaluate(principalId: string, subject: CommandSubject): PolicyDecision {
    const text = commandSubjectText(subject);
    const own = this.#principals.get(principalId);
    const layers: [PolicyRuleScope, CompiledRules][] = own ? [["global", this.#global], ["principal", own]] : [["global", this.#global]];
    for (const [scope, rules] of layers) {
      if (rules.deny.some((rule) => rule.test(text))) return { allowed: false, rule: "deny", scope };
    }
    for (const [scope, rules] of layers) {
      if (rules.allow.length > 0 && !rules.allow.some((rule) => rule.test(text))) return { allowed: false, rule: "allow", scope };
    }
    return { allowed: true, sensitive: layers.some(([, rules]) => rules.sensitive.some((rule) => rule.test(text))) };
  }

  /** Throws CommandNotAllowedError (403) when refused; tells whether the command is to be audited as a digest. */
  check(principalId: string, subject: CommandSubject): { sensitive: boolean } {
    const decision = this.evaluate(principalId, subject);
    if (!decision.allowed) throw new CommandNotAllowedError(decision);
    return { sensitive: decision.sensitive };
  }
}

/** Spread into the API's env schema. At most one of the two. */
export const commandPolicyEnvShape = {
  /** Path of a JSON file in the commandPolicyConfigSchema shape. */
  SHELL_EXEC_COMMAND_POLICY_FILE: z.string().optional(),
  /** The same JSON inline. */
  SHELL_EXEC_COMMAND_POLICY: z.string().optional(),
};
export type CommandPolicyEnv = z.output<z.ZodObject<typeof commandPolicyEnvShape>>;

export function commandPolicyFromEnv(env: CommandPolicyEnv): CommandPolicy {
  if (env.SHELL_EXEC_COMMAND_POLICY && env.SHELL_EXEC_COMMAND_POLICY_FILE) {
    throw new ConfigError(["SHELL_EXEC_COMMAND_POLICY, SHELL_EXEC_COMMAND_POLICY_FILE: set only one"]);
  }
  const [origin, text] = env.SHELL_EXEC_COMMAND_POLICY_FILE
    ? [`SHELL_EXEC_COMMAND_POLICY_FILE (${env.SHELL_EXEC_COMMAND_POLICY_FILE})`, readFileSync(env.SHELL_EXEC_COMMAND_POLICY_FILE, "utf8")]
    : ["SHELL_EXEC_COMMAND_POLICY", env.SHELL_EXEC_COMMAND_POLICY];
  if (text === undefined) return CommandPolicy.permissive();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError([`${origin}: not valid JSON`]);
  }
  return CommandPolicy.fromConfig(json, origin);
}
