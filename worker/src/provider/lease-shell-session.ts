import type { createConnection, Socket } from "node:net";
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import type { ExecOutcome, ProviderAuth } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { decodeProviderFrame, encodeFrame, FrameCode, type ProviderFrame } from "@shell-exec/shared/lease-shell/frames.ts";
import { classifyFailure, type ExchangeFailure } from "./classify-failure.ts";
import { collectedOutput, OutputCollector } from "./output-collector.ts";

/**
 * One lease-shell exchange over a socket that is already connected (and TLS-verified): writes the upgrade request,
 * reads frames until a result, and resolves exactly one ExecOutcome. It never rejects.
 */

export interface LeaseShellSessionOptions {
  url: URL;
  /** Connected and, for wss:, TLS-verified. The session owns it from here and destroys it when it ends. */
  socket: Socket;
  auth: ProviderAuth;
  stdin: Buffer | undefined;
  onStdinWritten?: (() => void) | undefined;
  /** From the upgrade to the result. */
  deadlineMs: number;
  /** From writing the upgrade request to the provider's answer. */
  upgradeTimeoutMs: number;
  maxOutputBytes: number;
  /** Largest WebSocket message accepted; a bigger one is a protocol error (the provider writes ~32 KiB chunks). */
  maxFrameBytes: number;
  signal: AbortSignal | undefined;
  now: () => number;
}

const STDIN_CHUNK_BYTES = 64 * 1024;
/** How much of a refusal's body is kept: the provider's are one short JSON or text line. */
const MAX_REFUSAL_BODY_BYTES = 4 * 1024;

export function runLeaseShellSession(options: LeaseShellSessionOptions): Promise<ExecOutcome> {
  return new Promise<ExecOutcome>((resolve) => {
    const { socket, signal, now } = options;
    const stdout = new OutputCollector(options.maxOutputBytes);
    const stderr = new OutputCollector(options.maxOutputBytes);
    let upgradedAt: number | undefined;
    let opened = false;
    let settled = false;
    let lastError: Error | undefined;
    let refusal: { status: number; body: Buffer[]; bytes: number } | undefined;
    let deadlineTimer: NodeJS.Timeout | undefined;

    const durationMs = (): number => (upgradedAt === undefined ? 0 : Math.max(0, now() - upgradedAt));

    const settle = (outcome: ExecOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(upgradeTimer);
      clearTimeout(deadlineTimer);
      signal?.removeEventListener("abort", onAbort);
      // The provider keeps nothing open for us and ends every exchange by dropping TCP: no close handshake needed.
      ws.terminate();
      socket.destroy();
      resolve(outcome);
    };
    const fail = (failure: ExchangeFailure): void => {
      if (settled) return;
      settle({ kind: "error", ...classifyFailure(failure), durationMs: durationMs(), ...collectedOutput(stdout, stderr) });
    };
    const settleRefusal = (): void => {
      if (!refusal) return;
      fail({ stage: "upgrade", kind: "http-status", status: refusal.status, body: Buffer.concat(refusal.body).toString("utf8") });
    };
    const onAbort = (): void => settle({ kind: "canceled", durationMs: durationMs(), ...collectedOutput(stdout, stderr) });

    const onFrame = (frame: ProviderFrame): void => {
      switch (frame.kind) {
        case "stdout":
          stdout.push(frame.data);
          return;
        case "stderr":
          stderr.push(frame.data);
          return;
        case "result":
          if (frame.message !== undefined) {
            fail({ stage: "stream", kind: "result-message", exitCode: frame.exitCode, message: frame.message });
          } else {
            settle({ kind: "exited", exitCode: frame.exitCode, durationMs: durationMs(), ...collectedOutput(stdout, stderr) });
          }
          return;
        case "failure":
          fail({ stage: "stream", kind: "exec-failed" });
          return;
      }
    };

    let ws: WebSocket;
    try {
      ws = openWebSocket(options);
    } catch (error) {
      // ws validates its options synchronously; nothing can have been written, but stay conservative.
      socket.destroy();
      resolve({ kind: "error", ...classifyFailure({ stage: "upgrade", kind: "no-answer", detail: errorMessage(error) }), durationMs: 0, ...collectedOutput(stdout, stderr) });
      return;
    }

    const upgradeTimer = setTimeout(() => {
      if (refusal) return settleRefusal();
      fail({ stage: "upgrade", kind: "no-answer", detail: `no answer to the upgrade within ${options.upgradeTimeoutMs} ms` });
    }, options.upgradeTimeoutMs);

    // Always listening: ws emits 'error' on every abort, including our own terminate().
    ws.on("error", (error: Error) => {
      lastError ??= error;
    });

    ws.on("unexpected-response", (_request, response: IncomingMessage) => {
      refusal = { status: response.statusCode ?? 0, body: [], bytes: 0 };
      const kept = refusal;
      response.on("data", (chunk: Buffer) => {
        const room = MAX_REFUSAL_BODY_BYTES - kept.bytes;
        if (room > 0) {
          kept.body.push(chunk.subarray(0, room));
          kept.bytes += Math.min(room, chunk.length);
        }
        if (kept.bytes >= MAX_REFUSAL_BODY_BYTES) settleRefusal();
      });
      response.on("end", settleRefusal);
      response.on("close", settleRefusal);
      response.on("error", settleRefusal);
    });

    ws.on("upgrade", () => {
      upgradedAt = now();
      clearTimeout(upgradeTimer);
      deadlineTimer = setTimeout(
        () => settle({ kind: "timed_out", durationMs: durationMs(), ...collectedOutput(stdout, stderr) }),
        options.deadlineMs,
      );
    });

    ws.on("open", () => {
      opened = true;
      const stdin = options.stdin;
      // stdin=1 with no bytes sends nothing: an empty 104 is a zero-length write, not an end of input.
      if (!stdin || stdin.length === 0) return;
      for (let offset = 0; offset < stdin.length; offset += STDIN_CHUNK_BYTES) {
        const last = offset + STDIN_CHUNK_BYTES >= stdin.length;
        ws.send(encodeFrame(FrameCode.Stdin, stdin.subarray(offset, offset + STDIN_CHUNK_BYTES)), { binary: true }, (error) => {
          ignoreSendError();
          if (last && !error) options.onStdinWritten?.();
        });
      }
    });

    ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      if (settled || !isBinary) return;
      let frame: ProviderFrame | null;
      try {
        frame = decodeProviderFrame(rawDataToBuffer(data));
      } catch (error) {
        fail({ stage: "stream", kind: "protocol", detail: errorMessage(error) });
        return;
      }
      if (frame) onFrame(frame);
    });

    ws.on("close", (code: number) => {
      if (settled) return;
      if (upgradedAt === undefined) {
        if (refusal) return settleRefusal();
        fail({ stage: "upgrade", kind: "no-answer", detail: lastError ? errorMessage(lastError) : "connection closed" });
        return;
      }
      if (!opened) {
        fail({ stage: "stream", kind: "protocol", detail: `invalid upgrade answer: ${lastError ? errorMessage(lastError) : "closed"}` });
        return;
      }
      if (lastError && isWebSocketProtocolError(lastError)) {
        fail({ stage: "stream", kind: "protocol", detail: errorMessage(lastError) });
        return;
      }
      const detail = lastError ? errorMessage(lastError) : code === 1006 ? "dropped without a close frame" : `closed with code ${code}`;
      fail({ stage: "stream", kind: "disconnected", detail });
    });

    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function openWebSocket(options: LeaseShellSessionOptions): WebSocket {
  const { socket } = options;
  return new WebSocket(options.url, {
    // The socket is already connected: ws writes the upgrade request on it at once (see lease-shell-client.ts).
    createConnection: (() => socket) as unknown as typeof createConnection,
    headers: options.auth.kind === "jwt" ? { Authorization: `Bearer ${options.auth.token}` } : {},
    perMessageDeflate: false,
    followRedirects: false,
    maxPayload: options.maxFrameBytes,
    // Text frames are ignored, so their encoding must not be able to end the exchange.
    skipUTF8Validation: true,
  });
}

function rawDataToBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** ws marks frame-level violations (bad opcode, oversize message, bad masking, ...) with WS_ERR_* codes. */
function isWebSocketProtocolError(error: Error): boolean {
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("WS_ERR_");
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function ignoreSendError(): void {
  // A failed write ends the connection; the 'close' handler reports it.
}
