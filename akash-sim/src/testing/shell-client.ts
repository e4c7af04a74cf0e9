import type { IncomingMessage } from "node:http";
import { WebSocket, type ClientOptions } from "ws";
import { AkashWallet } from "@shell-exec/shared/akash/wallet.ts";
import { signEs256kJwt, type LeaseAction } from "@shell-exec/shared/akash/provider-jwt.ts";
import { encodeFrame, FrameCode } from "@shell-exec/shared/lease-shell/frames.ts";

/**
 * Test helpers for talking to akash-sim the way a worker does: mint provider tokens, open a lease shell, collect every
 * frame and how the connection ended. Used by akash-sim's own conformance tests; other packages may use them too.
 */

export function freshWallet(): AkashWallet {
  return AkashWallet.fromMnemonic(AkashWallet.generateMnemonic());
}

export interface TokenOptions {
  wallet: AkashWallet;
  provider: string;
  scope?: LeaseAction[];
  /** Replace the whole `leases` claim. */
  leases?: unknown;
  /** Claims merged over the defaults (undefined values delete a claim). */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  nowSeconds?: number;
}

/** A valid ES256K provider token (granular, for one provider) unless options say otherwise. */
export function providerToken(options: TokenOptions): string {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: options.wallet.address,
    iat: now,
    nbf: now - 30,
    exp: now + 600,
    version: "v1",
    leases: options.leases ?? {
      access: "granular",
      permissions: [{ provider: options.provider, access: "scoped", scope: options.scope ?? ["shell", "status"] }],
    },
    ...options.claims,
  };
  for (const [key, value] of Object.entries(claims)) if (value === undefined) delete claims[key];
  return signEs256kJwt(options.wallet, claims, options.header ?? { alg: "ES256K", typ: "JWT" });
}

export interface ShellQuery {
  argv: string[];
  service?: string;
  stdin?: boolean;
  tty?: boolean;
  podIndex?: number;
}

export function shellUrl(base: string, lease: { dseq: string | number; gseq: number; oseq: number }, query: ShellQuery): string {
  const params = new URLSearchParams();
  query.argv.forEach((arg, index) => params.set(`cmd${index}`, arg));
  params.set("service", query.service ?? "web");
  params.set("stdin", query.stdin ? "1" : "0");
  params.set("tty", query.tty ? "1" : "0");
  params.set("podIndex", String(query.podIndex ?? 0));
  const wsBase = base.replace(/^http/, "ws");
  return `${wsBase}/lease/${lease.dseq}/${lease.gseq}/${lease.oseq}/shell?${params.toString()}`;
}

export interface Frame {
  code: number;
  data: Buffer;
}

export interface ShellExchange {
  frames: Frame[];
  /** Text (non-binary) messages, which a client must ignore. */
  textMessages: number;
  stdout: string;
  stderr: string;
  /** The parsed 102 payload, or null. */
  result: { exit_code: number; message?: string } | null;
  /** The raw 102 payload (to check the trailing newline). */
  resultRaw: string | null;
  failure: boolean;
  closeCode: number;
  pings: number;
  /** Milliseconds from open to close. */
  durationMs: number;
  /** A socket error after the upgrade (e.g. ECONNRESET when the provider closes with unread bytes). */
  error: string | null;
  /** Payload bytes received per stream (also with keepOutput: false). */
  stdoutBytes: number;
  stderrBytes: number;
}

export interface ConnectOptions {
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  headers?: Record<string, string>;
  /** Bytes sent as 104 frames right after open. */
  stdin?: Buffer | string;
  /** Extra raw frames sent right after open (before stdin). */
  send?: (Buffer | string)[];
  /** Called for every frame as it arrives. */
  onFrame?: (frame: Frame, ws: WebSocket) => void;
  /** Give up (terminate) after this many ms; the exchange then reports closeCode 1006. */
  timeoutMs?: number;
  /** Give up when the upgrade has not completed after this many ms (the promise rejects). */
  handshakeTimeoutMs?: number;
  /** Keep stdout/stderr/frames (default true); false counts bytes only, for large outputs. */
  keepOutput?: boolean;
}

export function clientOptions(options: ConnectOptions): ClientOptions {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return {
    headers,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    // Self-signed provider certificates pinned by `ca` name the address, not always the host.
    // (@types/ws types this as returning boolean; Node's tls wants undefined for "fine".)
    checkServerIdentity: (() => undefined) as unknown as ClientOptions["checkServerIdentity"],
    perMessageDeflate: false,
  };
}

/** Opens a lease shell and resolves once the connection is closed, with everything that came over it. */
export function runShell(url: string, options: ConnectOptions = {}): Promise<ShellExchange> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...clientOptions(options), handshakeTimeout: options.handshakeTimeoutMs });
    const exchange: ShellExchange = {
      frames: [], textMessages: 0, stdout: "", stderr: "", result: null, resultRaw: null, failure: false, closeCode: 0, pings: 0,
      durationMs: 0, error: null, stdoutBytes: 0, stderrBytes: 0,
    };
    const keep = options.keepOutput !== false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let openedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    ws.on("unexpected-response", (_request, response: IncomingMessage) => {
      response.resume();
      reject(new Error(`upgrade refused with HTTP ${response.statusCode}`));
      ws.terminate();
    });
    let opened = false;
    ws.on("error", (error) => {
      if (opened) exchange.error = error.message;
      else reject(error);
    });
    ws.on("ping", () => {
      exchange.pings += 1;
    });
    ws.on("open", () => {
      opened = true;
      openedAt = Date.now();
      for (const frame of options.send ?? []) ws.send(frame);
      if (options.stdin !== undefined) ws.send(encodeFrame(FrameCode.Stdin, Buffer.from(options.stdin)));
      if (options.timeoutMs) timer = setTimeout(() => ws.terminate(), options.timeoutMs);
    });
    ws.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) {
        exchange.textMessages += 1;
        return;
      }
      if (data.length === 0) return;
      const frame = { code: data[0]!, data: data.subarray(1) };
      if (frame.code === FrameCode.Stdout) exchange.stdoutBytes += frame.data.length;
      if (frame.code === FrameCode.Stderr) exchange.stderrBytes += frame.data.length;
      if (keep || (frame.code !== FrameCode.Stdout && frame.code !== FrameCode.Stderr)) exchange.frames.push(frame);
      if (keep && frame.code === FrameCode.Stdout) stdout.push(frame.data);
      if (keep && frame.code === FrameCode.Stderr) stderr.push(frame.data);
      if (frame.code === FrameCode.Result) {
        exchange.resultRaw = frame.data.toString("utf8");
        try {
          exchange.result = JSON.parse(exchange.resultRaw) as ShellExchange["result"];
        } catch {
          exchange.result = null;
        }
      }
      if (frame.code === FrameCode.Failure) exchange.failure = true;
      options.onFrame?.(frame, ws);
    });
    ws.on("close", (code) => {
      if (timer) clearTimeout(timer);
      exchange.closeCode = code;
      exchange.durationMs = Date.now() - openedAt;
      exchange.stdout = Buffer.concat(stdout).toString("utf8");
      exchange.stderr = Buffer.concat(stderr).toString("utf8");
      resolve(exchange);
    });
  });
}

/** An upgrade the gateway refuses: its status, headers and body. */
export function refusedUpgrade(url: string, options: ConnectOptions = {}): Promise<{ status: number; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, clientOptions(options));
    ws.on("unexpected-response", (_request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: response.headers });
        ws.terminate();
      });
    });
    ws.on("open", () => {
      ws.terminate();
      reject(new Error("the upgrade was accepted"));
    });
    ws.on("error", (error) => reject(error));
  });
}
