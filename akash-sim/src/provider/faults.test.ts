import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameCode } from "@shell-exec/shared/lease-shell/frames.ts";
import { httpCall } from "../testing/http.ts";
import { refusedUpgrade, runShell } from "../testing/shell-client.ts";
import { startTestSim, type TestSim } from "../testing/fixture.ts";

let t: TestSim;

beforeAll(async () => {
  t = await startTestSim();
});

afterAll(async () => {
  await t.sim.stop();
});

const providerTarget = () => ({ provider: t.provider });

async function withFault<T>(target: Parameters<TestSim["sim"]["setFault"]>[0], fault: Parameters<TestSim["sim"]["setFault"]>[1], run: () => Promise<T>): Promise<T> {
  await t.sim.setFault(target, fault);
  try {
    return await run();
  } finally {
    await t.sim.setFault(target, null);
  }
}

describe("faults before the upgrade", () => {
  it("refuse: connections are refused until the fault is cleared", async () => {
    await withFault(providerTarget(), { kind: "refuse" }, async () => {
      await expect(httpCall(`${t.url}/address`, { ca: t.ca })).rejects.toMatchObject({ code: "ECONNREFUSED" });
    });
    expect((await httpCall(`${t.url}/address`, { ca: t.ca })).status).toBe(200);
  });

  it("reset: the connection is dropped with no answer", async () => {
    await withFault(t.lease, { kind: "reset" }, async () => {
      await expect(t.shell({ argv: ["true"] })).rejects.toThrow(/socket hang up|ECONNRESET|closed/);
    });
  });

  it("stall: the upgrade request is never answered", async () => {
    await withFault(t.lease, { kind: "stall" }, async () => {
      const started = Date.now();
      await expect(t.shell({ argv: ["true"] }, { handshakeTimeoutMs: 400 })).rejects.toThrow(/handshake has timed out/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    });
  });

  it("reject: the upgrade is answered 401 or 500", async () => {
    await withFault(t.lease, { kind: "reject", status: 401 }, async () => {
      expect(await refusedUpgrade(t.shellUrl({ argv: ["true"] }), { token: t.token(), ca: t.ca })).toMatchObject({
        status: 401,
        body: '{"message":"unauthorized access"}',
      });
    });
    await withFault(providerTarget(), { kind: "reject", status: 500, body: "boom" }, async () => {
      expect(await refusedUpgrade(t.shellUrl({ argv: ["true"] }), { token: t.token(), ca: t.ca })).toMatchObject({ status: 500, body: "boom" });
    });
  });

  it("a lease fault leaves other leases alone", async () => {
    await withFault({ dseq: t.lease.dseq, gseq: 2, oseq: 1 }, { kind: "reject", status: 500 }, async () => {
      expect((await t.shell({ argv: ["echo", "ok"] })).stdout).toBe("ok\n");
    });
  });
});

describe("faults after the upgrade", () => {
  it("hang: upgraded, then nothing", async () => {
    await withFault(t.lease, { kind: "hang" }, async () => {
      const exchange = await t.shell({ argv: ["echo", "never"] }, { timeoutMs: 400 });
      expect(exchange.frames).toHaveLength(0);
      expect(exchange.durationMs).toBeGreaterThanOrEqual(350);
    });
  });

  it("drop: output, then the connection is gone without a result", async () => {
    await withFault(t.lease, { kind: "drop", afterBytes: 3 }, async () => {
      const exchange = await t.shell({ argv: ["sh", "-c", "echo one; sleep 0.1; echo two; sleep 0.1; echo three"] });
      expect(exchange.stdout.startsWith("one\n")).toBe(true);
      expect(exchange.stdout).not.toContain("three");
      expect(exchange.result).toBeNull();
      expect(exchange.closeCode).toBe(1006);
    });
  });

  it("unknown-frame: a frame with an unknown code comes first", async () => {
    await withFault(t.lease, { kind: "unknown-frame", code: 42 }, async () => {
      const exchange = await t.shell({ argv: ["echo", "hi"] });
      expect(exchange.frames[0]!.code).toBe(42);
      expect(exchange.stdout).toBe("hi\n");
      expect(exchange.result).toEqual({ exit_code: 0 });
    });
  });

  it("ignorable-frames: a text frame and an empty binary frame come first", async () => {
    await withFault(t.lease, { kind: "ignorable-frames" }, async () => {
      const exchange = await t.shell({ argv: ["echo", "hi"] });
      expect(exchange.textMessages).toBe(1);
      expect(exchange.result).toEqual({ exit_code: 0 });
    });
  });

  it("garbage-result: a 102 whose payload is not JSON", async () => {
    await withFault(t.lease, { kind: "garbage-result" }, async () => {
      const exchange = await t.shell({ argv: ["echo", "hi"] });
      expect(exchange.frames.at(-1)!.code).toBe(FrameCode.Result);
      expect(exchange.result).toBeNull();
      expect(exchange.resultRaw).toBe("garbage, not JSON");
    });
  });

  it("exec-failure: a 103 frame with no payload, then the connection drops", async () => {
    await withFault(t.lease, { kind: "exec-failure" }, async () => {
      const exchange = await t.shell({ argv: ["echo", "hi"] });
      expect(exchange.frames).toEqual([{ code: FrameCode.Failure, data: Buffer.alloc(0) }]);
      expect(exchange.failure).toBe(true);
      expect(exchange.closeCode).toBe(1006);
    });
  });

  it("drip: small frames slowly, then the result", async () => {
    await withFault(t.lease, { kind: "drip", chunk: "d", intervalMs: 30, count: 5, exitCode: 4 }, async () => {
      const exchange = await t.shell({ argv: ["ignored"] });
      expect(exchange.stdout).toBe("ddddd");
      expect(exchange.frames.filter((f) => f.code === FrameCode.Stdout)).toHaveLength(5);
      expect(exchange.result).toEqual({ exit_code: 4 });
      expect(exchange.durationMs).toBeGreaterThanOrEqual(150);
    });
  });

  it("flood: lots of output as fast as the client reads it, then the result", async () => {
    const bytes = 64 * 1024 * 1024;
    await withFault(t.lease, { kind: "flood", bytes, stream: "stderr" }, async () => {
      const exchange = await runShell(t.shellUrl({ argv: ["ignored"] }), { token: t.token(), ca: t.ca, keepOutput: false });
      expect(exchange.stderrBytes).toBe(bytes);
      expect(exchange.stdoutBytes).toBe(0);
      expect(exchange.result).toEqual({ exit_code: 0 });
    });
  });
});
