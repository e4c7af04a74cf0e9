import { describe, expect, it } from "vitest";
import {
  decodeClientFrame,
  decodeProviderFrame,
  encodeFrame,
  encodeResultFrame,
  encodeTerminalSizeFrame,
  FrameCode,
  FrameDecodeError,
} from "./frames.ts";

describe("lease-shell frame codec", () => {
  it("round-trips stdout and stderr bytes, including non-UTF-8", () => {
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28]);
    expect(decodeProviderFrame(encodeFrame(FrameCode.Stdout, bytes))).toEqual({ kind: "stdout", data: bytes });
    expect(decodeProviderFrame(encodeFrame(FrameCode.Stderr, bytes))).toEqual({ kind: "stderr", data: bytes });
  });

  it("encodes the result as JSON with a trailing newline and decodes the message", () => {
    const frame = encodeResultFrame(3);
    expect(frame.subarray(1).toString()).toBe('{"exit_code":3}\n');
    expect(decodeProviderFrame(frame)).toEqual({ kind: "result", exitCode: 3, message: undefined });
    expect(decodeProviderFrame(encodeResultFrame(0, "kube: no service for that lease"))).toEqual({
      kind: "result",
      exitCode: 0,
      message: "kube: no service for that lease",
    });
  });

  it("decodes 103 as failure and ignores empty messages", () => {
    expect(decodeProviderFrame(encodeFrame(FrameCode.Failure))).toEqual({ kind: "failure" });
    expect(decodeProviderFrame(Buffer.alloc(0))).toBeNull();
  });

  it("rejects unknown codes and malformed results", () => {
    expect(() => decodeProviderFrame(Buffer.from([42, 1]))).toThrow(FrameDecodeError);
    expect(() => decodeProviderFrame(encodeFrame(FrameCode.Result, Buffer.from("nope")))).toThrow(FrameDecodeError);
    expect(() => decodeProviderFrame(encodeFrame(FrameCode.Result, Buffer.from('{"exit_code":"1"}')))).toThrow(
      FrameDecodeError,
    );
  });

  it("encodes stdin and terminal size for the provider", () => {
    expect(decodeClientFrame(encodeFrame(FrameCode.Stdin, Buffer.from("abc")))).toEqual({
      kind: "stdin",
      data: Buffer.from("abc"),
    });
    expect(decodeClientFrame(encodeTerminalSizeFrame(80, 24))).toEqual({ kind: "terminal-size", width: 80, height: 24 });
  });
});
