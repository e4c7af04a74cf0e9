import type { ChildProcess } from "node:child_process";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import { encodeFrame, encodeResultFrame, FrameCode } from "@shell-exec/shared/lease-shell/frames.ts";
import type { ReplicaRuntime } from "../exec/replicas.ts";
import type { LeaseRecord } from "../state.ts";
import type { Fault } from "./faults.ts";

/**
 * One lease-shell exchange after the upgrade, as gateway/rest/router.go leaseShellHandler and
 * cluster/kube/client_exec.go run it: service checks, then the exec, output frames as produced, the 102 result as
 * the last frame, then the TCP connection is dropped without a WebSocket close frame.
 */

export interface ShellParams {
  argv: string[];
  service: string;
  stdin: boolean;
  tty: boolean;
  podIndex: number;
}

export interface ShellStats {
  /** Most bytes ever queued on one WebSocket but not yet written to its socket. */
  maxBufferedBytes: number;
  sessions: number;
}

/** Output is paused while more than this is queued for the socket, and resumed below LOW_WATER. */
export const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export const ShellMessages = {
  noService: "kube: no service for that lease",
  noReadyReplica: "no active replicase for service",
  notRunning: "remote command execute error: service with that name is not running",
  notReady: "remote command execute error: service with that name is not running: the service is not ready",
  podIndexOutOfRange: (replicas: number) => `remote command execute error: pod index out of range: valid range is [0, ${replicas - 1}]`,
  commandDoesNotExist: "remote command execute error: command could not be executed because it does not exist",
  commandExecutionFailed: "remote command execute error: command execution failed",
} as const;

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
};

export interface ShellSessionOptions {
  ws: WebSocket;
  socket: Duplex;
  params: ShellParams;
  /** The provider's record of the lease (undefined: no such lease at this provider). */
  lease: LeaseRecord | undefined;
  runtime: ReplicaRuntime;
  fault: Fault | undefined;
  pingIntervalMs: number;
  stats: ShellStats;
  logger: Logger;
}

export function runShellSession(options: ShellSessionOptions): void {
  new ShellSession(options).start();
}

class ShellSession {
  readonly #o: ShellSessionOptions;
  #outstanding = 0;
  #clientGone = false;
  #ended = false;
  #onLowWater: (() => void) | undefined;
  #pinger: NodeJS.Timeout | undefined;
  #child: ChildProcess | undefined;
  #readingStdin = true;
  #sentOutputBytes = 0;

  constructor(options: ShellSessionOptions) {
    this.#o = options;
  }

  start(): void {
    const { ws, params, stats } = this.#o;
    stats.sessions += 1;
    ws.on("error", () => {
      this.#clientGone = true;
    });
    ws.on("close", () => {
      this.#clientGone = true;
      this.#stopPinger();
      // The process keeps running, as in a real container; its output now goes nowhere.
      this.#onLowWater?.();
    });
    if (params.stdin) {
      ws.on("message", (data, isBinary) => this.#onClientMessage(data as Buffer, isBinary));
    } else {
      // Nothing reads the connection on a real provider when stdin=0: no pong handling, no close-frame echo.
      ws.pause();
    }
    this.#run();
  }

  #run(): void {
    const { params, lease, fault, runtime } = this.#o;
    if (fault?.kind === "hang") return;
    if (fault?.kind === "exec-failure") {
      this.#finish(encodeFrame(FrameCode.Failure));
      return;
    }
    if (fault?.kind === "unknown-frame") {
      this.#send(encodeFrame((fault.code ?? 42) as FrameCode, Buffer.from(fault.payload ?? "garbage")));
    }
    if (fault?.kind === "ignorable-frames") {
      this.#o.ws.send("ignore me", { binary: false });
      this.#send(Buffer.alloc(0));
    }

    // cclient.ServiceStatus: an unknown lease (no namespace/manifest) is an error the client is not told about.
    if (!lease || !lease.manifest) return this.#result(0);
    const service = lease.services.get(params.service);
    if (!service) return this.#result(0, ShellMessages.noService);
    if (service.readyReplicas === 0) return this.#result(0, ShellMessages.noReadyReplica);

    this.#startPinger();
    if (fault?.kind === "drip") return this.#drip(fault);
    if (fault?.kind === "flood") return this.#flood(fault);

    // cclient.Exec
    if (service.replicas === 0) return this.#result(0, ShellMessages.notRunning);
    if (params.podIndex >= service.replicas) return this.#result(0, ShellMessages.podIndexOutOfRange(service.replicas));
    if (params.podIndex >= service.readyReplicas) return this.#result(0, ShellMessages.notReady);

    if (service.responder) {
      const { stdout, stderr, exitCode } = service.responder;
      if (stdout) this.#output(FrameCode.Stdout, Buffer.from(stdout));
      if (stderr) this.#output(params.tty ? FrameCode.Stdout : FrameCode.Stderr, Buffer.from(stderr));
      return this.#result(exitCode);
    }

    const context = { lease, service, podIndex: params.podIndex };
    const check = runtime.checkCommand(context, params.argv[0]!);
    if (!check.ok) {
      return this.#result(0, check.reason === "not-found" ? ShellMessages.commandDoesNotExist : ShellMessages.commandExecutionFailed);
    }
    let child: ChildProcess;
    try {
      child = runtime.spawn(context, params.argv, { stdin: params.stdin });
    } catch (error) {
      this.#o.logger.error({ err: error }, "exec failed");
      this.#finish(encodeFrame(FrameCode.Failure));
      return;
    }
    this.#child = child;
    child.stdin?.on("error", () => undefined); // EPIPE once the process has gone
    const streams = [child.stdout, child.stderr].filter((s) => s !== null);
    this.#onLowWater = () => {
      for (const stream of streams) stream.resume();
    };
    child.stdout?.on("data", (chunk: Buffer) => this.#output(FrameCode.Stdout, chunk, streams));
    child.stderr?.on("data", (chunk: Buffer) => this.#output(params.tty ? FrameCode.Stdout : FrameCode.Stderr, chunk, streams));
    let spawnFailed = false;
    child.once("error", () => {
      spawnFailed = true;
      this.#finish(encodeFrame(FrameCode.Failure));
    });
    child.once("close", (code, signal) => {
      this.#child = undefined;
      if (spawnFailed) return;
      const exitCode = code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
      this.#result(exitCode);
    });
  }

  #onClientMessage(data: Buffer, isBinary: boolean): void {
    // leaseShellWebsocketHandler: text and empty messages are ignored; a bad message ends the reading for good.
    if (!this.#readingStdin || !isBinary || data.length === 0) return;
    const code = data[0];
    const payload = data.subarray(1);
    if (code === FrameCode.Stdin) {
      const stdin = this.#child?.stdin;
      if (!stdin || stdin.destroyed) return;
      if (!stdin.write(payload)) {
        // io.Pipe: the reader blocks until the process takes the bytes.
        this.#o.ws.pause();
        stdin.once("drain", () => this.#o.ws.resume());
      }
      return;
    }
    if (code === FrameCode.TerminalSize) {
      if (payload.length < 4) this.#readingStdin = false;
      // No pseudo-terminal in the sim: the size is read and dropped.
      return;
    }
    this.#o.logger.warn({ code }, "unknown message ID on websocket");
    this.#readingStdin = false;
  }

  #send(frame: Buffer, done?: () => void): void {
    if (this.#clientGone) {
      done?.();
      return;
    }
    const { ws, stats } = this.#o;
    this.#outstanding += frame.length;
    if (this.#outstanding > stats.maxBufferedBytes) stats.maxBufferedBytes = this.#outstanding;
    ws.send(frame, { binary: true }, () => {
      this.#outstanding -= frame.length;
      if (this.#outstanding < LOW_WATER) this.#onLowWater?.();
      done?.();
    });
  }

  /** One output frame; pauses the sources while the socket is behind. */
  #output(code: FrameCode, chunk: Buffer, sources: NodeJS.ReadableStream[] = []): void {
    if (this.#ended || this.#clientGone) return;
    const fault = this.#o.fault;
    this.#send(encodeFrame(code, chunk));
    this.#sentOutputBytes += chunk.length;
    if (fault?.kind === "drop" && this.#sentOutputBytes >= (fault.afterBytes ?? 1)) {
      this.#drop();
      return;
    }
    if (this.#outstanding > HIGH_WATER) for (const source of sources) source.pause();
  }

  #result(exitCode: number, message?: string): void {
    const fault = this.#o.fault;
    if (fault?.kind === "drop") return this.#drop();
    if (fault?.kind === "garbage-result") {
      return this.#finish(encodeFrame(FrameCode.Result, Buffer.from(fault.payload ?? "garbage, not JSON")));
    }
    this.#finish(encodeResultFrame(exitCode, message));
  }

  /** Sends the last frame, then closes the TCP connection without a close frame (the client sees 1006). */
  #finish(frame: Buffer): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopPinger();
    this.#send(frame, () => this.#drop());
  }

  #drop(): void {
    this.#ended = true;
    this.#clientGone = true;
    this.#stopPinger();
    this.#onLowWater?.();
    // gorilla's Conn.Close on the hijacked tls.Conn: close_notify, then the file descriptor is closed (a FIN, or an
    // RST when the client sent bytes nobody read, such as pongs with stdin=0).
    const { socket } = this.#o;
    const destroy = () => socket.destroy();
    socket.end(destroy);
    setTimeout(destroy, 1_000).unref();
  }

  #startPinger(): void {
    const { ws, pingIntervalMs } = this.#o;
    this.#pinger = setInterval(() => {
      if (!this.#clientGone) ws.ping();
    }, pingIntervalMs);
    this.#pinger.unref();
  }

  #stopPinger(): void {
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = undefined;
  }

  #drip(fault: Extract<Fault, { kind: "drip" }>): void {
    const chunk = Buffer.from(fault.chunk ?? ".");
    const count = fault.count ?? 10;
    let sent = 0;
    const timer = setInterval(() => {
      if (this.#clientGone || sent >= count) {
        clearInterval(timer);
        if (!this.#clientGone) this.#result(fault.exitCode ?? 0);
        return;
      }
      this.#output(FrameCode.Stdout, chunk);
      sent += 1;
    }, fault.intervalMs ?? 100);
  }

  #flood(fault: Extract<Fault, { kind: "flood" }>): void {
    const chunkBytes = fault.chunkBytes ?? 64 * 1024;
    const block = Buffer.alloc(chunkBytes, "x");
    const code = fault.stream === "stderr" && !this.#o.params.tty ? FrameCode.Stderr : FrameCode.Stdout;
    let remaining = fault.bytes;
    let scheduled = false;
    const pump = () => {
      scheduled = false;
      while (remaining > 0 && !this.#clientGone && this.#outstanding <= HIGH_WATER) {
        const size = Math.min(remaining, chunkBytes);
        remaining -= size;
        this.#output(code, size === chunkBytes ? block : block.subarray(0, size));
      }
      if (this.#clientGone) return;
      if (remaining === 0) return this.#result(fault.exitCode ?? 0);
    };
    this.#onLowWater = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(pump);
    };
    pump();
  }
}
