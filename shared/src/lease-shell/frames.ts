import { z } from "zod";

/** Lease-shell frame codes (akash-network/provider gateway/rest): byte 0 of every binary WebSocket message. */
export const FrameCode = {
  Stdout: 100,
  Stderr: 101,
  Result: 102,
  Failure: 103,
  Stdin: 104,
  TerminalSize: 105,
} as const;
export type FrameCode = (typeof FrameCode)[keyof typeof FrameCode];

/** The 102 payload: JSON, then "\n". exit_code 0 with a message is an error, not a success. */
export const resultPayloadSchema = z.object({
  exit_code: z.number().int(),
  message: z.string().optional(),
});
export type ResultPayload = z.infer<typeof resultPayloadSchema>;

export type ProviderFrame =
  | { kind: "stdout"; data: Buffer }
  | { kind: "stderr"; data: Buffer }
  | { kind: "result"; exitCode: number; message: string | undefined }
  | { kind: "failure" };

export type ClientFrame = { kind: "stdin"; data: Buffer } | { kind: "terminal-size"; width: number; height: number };

export class FrameDecodeError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.name = "FrameDecodeError";
    this.code = code;
  }
}

export function encodeFrame(code: FrameCode, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(payload.length + 1);
  frame[0] = code;
  frame.set(payload, 1);
  return frame;
}

export function encodeResultFrame(exitCode: number, message?: string): Buffer {
  const body = message === undefined ? { exit_code: exitCode } : { exit_code: exitCode, message };
  return encodeFrame(FrameCode.Result, Buffer.from(`${JSON.stringify(body)}\n`));
}

export function encodeTerminalSizeFrame(width: number, height: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(width, 0);
  payload.writeUInt16BE(height, 2);
  return encodeFrame(FrameCode.TerminalSize, payload);
}

/** Provider → client. An empty message is ignored by the provider's peers, so it decodes to null. */
export function decodeProviderFrame(message: Buffer): ProviderFrame | null {
  if (message.length === 0) return null;
  const code = message[0];
  const payload = message.subarray(1);
  switch (code) {
    case FrameCode.Stdout:
      return { kind: "stdout", data: payload };
    case FrameCode.Stderr:
      return { kind: "stderr", data: payload };
    case FrameCode.Result: {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString("utf8"));
      } catch {
        throw new FrameDecodeError("result frame is not JSON", code);
      }
      const result = resultPayloadSchema.safeParse(parsed);
      if (!result.success) throw new FrameDecodeError("result frame has no integer exit_code", code);
      return { kind: "result", exitCode: result.data.exit_code, message: result.data.message || undefined };
    }
    case FrameCode.Failure:
      return { kind: "failure" };
    default:
      throw new FrameDecodeError(`unknown frame code ${code}`, code);
  }
}

/** Client → provider. */
export function decodeClientFrame(message: Buffer): ClientFrame | null {
  if (message.length === 0) return null;
  const code = message[0];
  const payload = message.subarray(1);
  if (code === FrameCode.Stdin) return { kind: "stdin", data: payload };
  if (code === FrameCode.TerminalSize) {
    if (payload.length < 4) throw new FrameDecodeError("terminal size frame needs 4 bytes", code);
    return { kind: "terminal-size", width: payload.readUInt16BE(0), height: payload.readUInt16BE(2) };
  }
  throw new FrameDecodeError(`unknown frame code ${code}`, code);
}
