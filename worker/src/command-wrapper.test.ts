import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { isContainerTimeout, shellQuote, wrapCommand } from "./command-wrapper.ts";

const run = promisify(execFile);

async function runArgv(argv: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(argv[0]!, argv.slice(1));
    return { stdout, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; code: number };
    return { stdout: failed.stdout, code: failed.code };
  }
}

describe("wrapCommand", () => {
  it("runs a shell command through sh with the deadline", async () => {
    const argv = wrapCommand({ mode: "shell", command: "echo \"it's $((1+2))\"; exit 3", argv: null, timeoutSeconds: 5, workdir: null });
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv.every((arg) => arg.length > 0)).toBe(true);
    await expect(runArgv(argv)).resolves.toEqual({ stdout: "it's 3\n", code: 3 });
  });

  it("passes exec-mode arguments verbatim, including quotes, spaces and shell syntax", async () => {
    const args = ["printf", "%s|", "a b", "it's", "$(whoami)", "; rm -rf /", "*"];
    const argv = wrapCommand({ mode: "exec", command: null, argv: args, timeoutSeconds: 5, workdir: null });
    await expect(runArgv(argv)).resolves.toEqual({ stdout: "a b|it's|$(whoami)|; rm -rf /|*|", code: 0 });
  });

  it("changes to the working directory, and fails with 126 when it does not exist", async () => {
    const ok = wrapCommand({ mode: "exec", command: null, argv: ["pwd"], timeoutSeconds: 5, workdir: "/tmp" });
    await expect(runArgv(ok)).resolves.toEqual({ stdout: "/tmp\n", code: 0 });
    const missing = wrapCommand({ mode: "exec", command: null, argv: ["pwd"], timeoutSeconds: 5, workdir: "/nonexistent-dir" });
    expect((await runArgv(missing)).code).toBe(126);
  });

  it("stops a command at its deadline inside the 'container'", async () => {
    const started = Date.now();
    const argv = wrapCommand({ mode: "shell", command: "sleep 30", argv: null, timeoutSeconds: 1, workdir: null });
    const { code } = await runArgv(argv);
    expect(code).toBe(124);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isContainerTimeout(code, Date.now() - started, 1)).toBe(true);
  });

  it("does not mistake a quick exit 124 for a timeout", () => {
    expect(isContainerTimeout(124, 50, 60)).toBe(false);
    expect(isContainerTimeout(1, 60_000, 60)).toBe(false);
  });

  it("quotes single quotes", () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});
