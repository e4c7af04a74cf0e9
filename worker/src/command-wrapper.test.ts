import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cancelCommand, isContainerTimeout, shellQuote, wrapCommand, type WrapInput } from "./command-wrapper.ts";

/** Runs argv like the provider does: a child process, stdin written as given and never closed. */
function runArgv(argv: string[], stdin?: Buffer): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    if (stdin) child.stdin.write(stdin);
    child.on("close", (code) => {
      child.stdin.destroy();
      resolve({ stdout, stderr, code });
    });
  });
}

const base: Omit<WrapInput, "mode" | "command" | "argv"> = { jobId: "job_test", timeoutSeconds: 5, workdir: null };

describe("wrapCommand", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("runs a shell command through sh with the deadline", async () => {
    const argv = wrapCommand({ ...base, mode: "shell", command: "echo \"it's $((1+2))\"; exit 3", argv: null });
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv.every((arg) => arg.length > 0)).toBe(true);
    await expect(runArgv(argv)).resolves.toMatchObject({ stdout: "it's 3\n", code: 3 });
  });

  it("passes exec-mode arguments verbatim, including quotes, spaces and shell syntax", async () => {
    const args = ["printf", "%s|", "a b", "it's", "$(whoami)", "; rm -rf /", "*"];
    const argv = wrapCommand({ ...base, mode: "exec", command: null, argv: args });
    await expect(runArgv(argv)).resolves.toMatchObject({ stdout: "a b|it's|$(whoami)|; rm -rf /|*|", code: 0 });
  });

  it("changes to the working directory, and fails with 126 when it does not exist", async () => {
    const ok = wrapCommand({ ...base, mode: "exec", command: null, argv: ["pwd"], workdir: "/tmp" });
    await expect(runArgv(ok)).resolves.toMatchObject({ stdout: "/tmp\n", code: 0 });
    const missing = wrapCommand({ ...base, mode: "exec", command: null, argv: ["pwd"], workdir: "/nonexistent-dir" });
    expect((await runArgv(missing)).code).toBe(126);
  });

  it("stops a command at its deadline inside the 'container'", async () => {
    const started = Date.now();
    const argv = wrapCommand({ ...base, mode: "shell", command: "sleep 30", argv: null, timeoutSeconds: 1 });
    const { code } = await runArgv(argv);
    expect(code).toBe(124);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isContainerTimeout(code!, Date.now() - started, 1)).toBe(true);
  });

  it("delivers files atomically with their mode, env values and exact stdin from one never-ending stream", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wrapper-"));
    dirs.push(dir);
    const password = Buffer.from("p@ss'word\n");
    const key = Buffer.from([0, 1, 2, 255]);
    const envValue = Buffer.from("line1\nline2\n\n");
    const input = Buffer.from("hello stdin");
    const argv = wrapCommand({
      ...base,
      mode: "shell",
      command: 'printf "%s|" "$DB_URL"; cat; echo',
      argv: null,
      delivery: {
        files: [
          { path: join(dir, "run/secrets/db_password"), mode: "0400", bytes: password.length },
          { path: join(dir, "key.bin"), mode: "0600", bytes: key.length },
        ],
        env: [{ name: "DB_URL", bytes: envValue.length }],
        stdinBytes: input.length,
      },
    });
    expect(argv.join(" ")).not.toContain("p@ss");
    // The stream never ends, as with the provider: a trailing byte that must not be read.
    const result = await runArgv(argv, Buffer.concat([password, key, envValue, input, Buffer.from("X")]));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("line1\nline2\n\n|hello stdin\n");
    expect(await readFile(join(dir, "run/secrets/db_password"))).toEqual(password);
    expect(await readFile(join(dir, "key.bin"))).toEqual(key);
    expect((await stat(join(dir, "run/secrets/db_password"))).mode & 0o777).toBe(0o400);
    expect((await stat(join(dir, "run/secrets"))).mode & 0o777).toBe(0o700);
  });

  it("fails with 125 before running the command when a file cannot be written", async () => {
    const argv = wrapCommand({
      ...base,
      mode: "shell",
      command: "echo ran",
      argv: null,
      delivery: { files: [{ path: "/proc/forbidden/x", mode: "0600", bytes: 1 }], env: [], stdinBytes: null },
    });
    const result = await runArgv(argv, Buffer.from("a"));
    expect(result.code).toBe(125);
    expect(result.stdout).toBe("");
  });

  it("cancel stops the whole process group through a second exec and confirms it", async () => {
    const jobId = `job_cancel_${process.pid}`;
    const running = runArgv(wrapCommand({ ...base, jobId, mode: "shell", command: "sleep 30 & sleep 30; wait", argv: null, timeoutSeconds: 60 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancel = await runArgv(cancelCommand(jobId, 1));
    expect(cancel.stdout.trim()).toBe("killed");
    const ended = await running;
    expect(ended.code).not.toBe(0);
    expect((await runArgv(cancelCommand(jobId, 1))).stdout.trim()).toBe("not-running");
  });

  it("does not mistake a quick exit 124 for a timeout", () => {
    expect(isContainerTimeout(124, 50, 60)).toBe(false);
    expect(isContainerTimeout(1, 60_000, 60)).toBe(false);
  });

  it("quotes single quotes", () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});
