import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFrame, encodeTerminalSizeFrame, FrameCode } from "@shell-exec/shared/lease-shell/frames.ts";
import { ShellMessages } from "./lease-shell.ts";
import { runShell } from "../testing/shell-client.ts";
import { waitFor } from "../testing/wait.ts";
import { startTestSim, TEST_DSEQ, type TestSim } from "../testing/fixture.ts";

let t: TestSim;

beforeAll(async () => {
  t = await startTestSim({ pingIntervalMs: 100 });
});

afterAll(async () => {
  await t.sim.stop();
});


async function killAll(podIndex = 0): Promise<void> {
  const replica = { ...t.lease, service: "web", podIndex };
  for (const pid of await t.sim.listReplicaProcesses(replica)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await waitFor(async () => (await t.sim.listReplicaProcesses(replica)).length === 0);
}

describe("frames from the provider", () => {
  it("100 stdout, 101 stderr, then 102 JSON with a trailing newline as the last frame, then TCP close without a close frame", async () => {
    const exchange = await t.shell({ argv: ["sh", "-c", "echo hi; echo oops 1>&2; exit 3"] });
    expect(exchange.stdout).toBe("hi\n");
    expect(exchange.stderr).toBe("oops\n");
    expect(exchange.resultRaw).toBe('{"exit_code":3}\n');
    expect(exchange.frames.at(-1)!.code).toBe(FrameCode.Result);
    expect(exchange.frames.filter((f) => f.code === FrameCode.Result)).toHaveLength(1);
    expect(exchange.closeCode).toBe(1006);
  });

  it("runs argv without a shell: metacharacters reach the program as they are", async () => {
    const exchange = await t.shell({ argv: ["echo", "$HOME;", "`id`", "*"] });
    expect(exchange.stdout).toBe("$HOME; `id` *\n");
  });

  it("reads argv up to the first empty cmdN: an empty argument silently cuts it short", async () => {
    const exchange = await t.shell({ argv: ["echo", "a", "", "b"] });
    expect(exchange.stdout).toBe("a\n");
  });

  it("sends output as it is produced", async () => {
    const arrivals: { at: number; text: string }[] = [];
    await t.shell(
      { argv: ["sh", "-c", "echo first; sleep 0.4; echo second"] },
      { onFrame: (frame) => frame.code === FrameCode.Stdout && arrivals.push({ at: Date.now(), text: frame.data.toString() }) },
    );
    expect(arrivals.map((a) => a.text)).toEqual(["first\n", "second\n"]);
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeGreaterThanOrEqual(300);
  });

  it("merges stderr into stdout with tty=1 (no 101 frames)", async () => {
    const exchange = await t.shell({ argv: ["sh", "-c", "echo out; echo err 1>&2"], tty: true });
    expect(exchange.frames.some((f) => f.code === FrameCode.Stderr)).toBe(false);
    expect(exchange.stdout).toContain("err\n");
    expect(exchange.stdout).toContain("out\n");
  });

  it("reports the exit code of a process killed by a signal as 128 + signal", async () => {
    const exchange = await t.shell({ argv: ["sh", "-c", "kill -9 $$"] });
    expect(exchange.result).toEqual({ exit_code: 137 });
  });
});

describe("102 with exit_code 0 and a message: errors", () => {
  it.each([
    ["an unknown service", { service: "nope" }, ShellMessages.noService],
    ["a service with no ready replica", { service: "idle" }, ShellMessages.noReadyReplica],
    ["a pod index out of range", { podIndex: 2 }, "remote command execute error: pod index out of range: valid range is [0, 1]"],
    ["a command that does not exist", { argv: ["no-such-command-here"] }, ShellMessages.commandDoesNotExist],
    ["a path that does not exist", { argv: ["/no/such/file"] }, ShellMessages.commandDoesNotExist],
  ])("%s", async (_name, query, message) => {
    const exchange = await t.shell({ argv: ["echo", "never"], ...query });
    expect(exchange.frames).toHaveLength(1);
    expect(exchange.resultRaw).toBe(`${JSON.stringify({ exit_code: 0, message })}\n`);
    expect(exchange.closeCode).toBe(1006);
  });

  it("a file that is not executable", async () => {
    const dir = t.sim.sandboxDir({ ...t.lease, service: "web", podIndex: 0 });
    writeFileSync(join(dir, "script.sh"), "#!/bin/sh\necho no\n", { mode: 0o644 });
    const exchange = await t.shell({ argv: ["./script.sh"] });
    expect(exchange.result).toEqual({ exit_code: 0, message: ShellMessages.commandExecutionFailed });
  });

  it("a pod that exists but is not ready", async () => {
    t.sim.setReadyReplicas(t.lease, "web", 1);
    try {
      const exchange = await t.shell({ argv: ["true"], podIndex: 1 });
      expect(exchange.result).toEqual({ exit_code: 0, message: ShellMessages.notReady });
    } finally {
      t.sim.setReadyReplicas(t.lease, "web", 2);
    }
  });

  it("an unknown lease gives a bare exit 0 with no output", async () => {
    for (const lease of [{ dseq: TEST_DSEQ, gseq: 2, oseq: 1 }, { dseq: TEST_DSEQ, gseq: 9, oseq: 1 }]) {
      const exchange = await runShell(t.shellUrl({ argv: ["echo", "never"] }, lease), { token: t.token(), ca: t.ca });
      expect(exchange.frames).toHaveLength(1);
      expect(exchange.resultRaw).toBe('{"exit_code":0}\n');
    }
  });
});

describe("frames from the client", () => {
  it("104 stdin with stdin=1, across frames, read to an exact count", async () => {
    const exchange = await t.shell(
      { argv: ["head", "-c", "11"], stdin: true },
      { send: [encodeFrame(FrameCode.Stdin, Buffer.from("hello ")), encodeFrame(FrameCode.Stdin, Buffer.from("world"))] },
    );
    expect(exchange.stdout).toBe("hello world");
    expect(exchange.result).toEqual({ exit_code: 0 });
  });

  it("an empty 104 is not end-of-input: a command reading to EOF never ends", async () => {
    const exchange = await t.shell(
      { argv: ["sh", "-c", "cat; echo unreachable"], stdin: true },
      { send: [encodeFrame(FrameCode.Stdin, Buffer.from("x")), encodeFrame(FrameCode.Stdin)], timeoutMs: 600 },
    );
    expect(exchange.result).toBeNull();
    expect(exchange.stdout).toBe("x");
    expect((await t.sim.listReplicaProcesses({ ...t.lease, service: "web", podIndex: 0 })).length).toBeGreaterThan(0);
    await killAll();
  });

  it("ignores 104 with stdin=0: the command's stdin is empty", async () => {
    const exchange = await t.shell({ argv: ["sh", "-c", "wc -c"], stdin: false }, { stdin: "ignored" });
    expect(exchange.stdout.trim()).toBe("0");
  });

  it("ignores text and empty frames, takes 105 with tty=1", async () => {
    const exchange = await t.shell(
      { argv: ["head", "-c", "3"], stdin: true, tty: true },
      { send: ["text is ignored", Buffer.alloc(0), encodeTerminalSizeFrame(80, 24), encodeFrame(FrameCode.Stdin, Buffer.from("abc"))] },
    );
    expect(exchange.stdout).toBe("abc");
  });

  it("stops reading stdin after an unknown frame code", async () => {
    const exchange = await t.shell(
      { argv: ["timeout", "1", "head", "-c", "3"], stdin: true },
      { send: [Buffer.from([7, 1, 2]), encodeFrame(FrameCode.Stdin, Buffer.from("abc"))] },
    );
    expect(exchange.stdout).toBe("");
    expect(exchange.result).toEqual({ exit_code: 124 });
  });
});

describe("connection behaviour", () => {
  it("pings while the command runs", async () => {
    const exchange = await t.shell({ argv: ["sleep", "0.55"] });
    expect(exchange.pings).toBeGreaterThanOrEqual(3);
    expect(exchange.result).toEqual({ exit_code: 0 });
  });

  it("does not stop the process when the client disconnects", async () => {
    const replica = { ...t.lease, service: "web", podIndex: 0 };
    const exchange = await t.shell({ argv: ["sleep", "30"] }, { timeoutMs: 300 });
    expect(exchange.result).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await t.sim.listReplicaProcesses(replica)).length).toBe(1);
    await killAll();
  });

  it("finds descendants that left the process group", async () => {
    const replica = { ...t.lease, service: "web", podIndex: 1 };
    const exchange = await t.shell({ argv: ["sh", "-c", "setsid sleep 30 > /dev/null 2>&1 & echo started"], podIndex: 1 });
    expect(exchange.stdout).toBe("started\n");
    await waitFor(async () => (await t.sim.listReplicaProcesses(replica)).length === 1);
    await killAll(1);
  });
});

describe("replica sandboxes", () => {
  it("runs in the replica's sandbox with its environment", async () => {
    const exchange = await t.shell({ argv: ["sh", "-c", "pwd; echo $GREETING; cat etc/app.conf; echo $AKASH_DEPLOYMENT_SEQUENCE"] });
    const dir = t.sim.sandboxDir({ ...t.lease, service: "web", podIndex: 0 });
    expect(exchange.stdout).toBe(`${dir}\nhello from web\nmode=test\n${TEST_DSEQ}\n`);
  });

  it("keeps replicas apart", async () => {
    await t.shell({ argv: ["sh", "-c", "echo zero > marker"], podIndex: 0 });
    const other = await t.shell({ argv: ["sh", "-c", "cat marker 2>/dev/null || echo absent"], podIndex: 1 });
    expect(other.stdout).toBe("absent\n");
  });

  it("shows each replica its own /run/secrets when paths are isolated", async ({ skip }) => {
    if (!t.sim.pathsIsolated) skip("mount namespaces are not available here");
    const read = await t.shell({ argv: ["cat", "/run/secrets/db_password"] });
    expect(read.stdout).toBe("s3cret\n");
    await t.shell({ argv: ["sh", "-c", "echo pod1 > /run/secrets/only_here"], podIndex: 1 });
    const zero = await t.shell({ argv: ["sh", "-c", "cat /run/secrets/only_here 2>/dev/null || echo absent"] });
    expect(zero.stdout).toBe("absent\n");
    const dir = t.sim.sandboxDir({ ...t.lease, service: "web", podIndex: 1 });
    expect(join(dir, "run/secrets/only_here")).toMatch(/only_here$/);
  });
});

describe("fast responder", () => {
  it("answers every command in-process with its fixed output", async () => {
    const exchange = await t.shell({ argv: ["anything-at-all"], service: "fast" });
    expect(exchange.stdout).toBe("fast-out\n");
    expect(exchange.stderr).toBe("fast-err\n");
    expect(exchange.resultRaw).toBe('{"exit_code":3}\n');
    expect(exchange.closeCode).toBe(1006);
  });
});
