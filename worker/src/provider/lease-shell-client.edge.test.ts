import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { pino } from "pino";
import type { ExecOutcome, LeaseShellRequest } from "@shell-exec/shared/exec/lease-shell-types.ts";
import { encodeFrame, encodeResultFrame, FrameCode } from "@shell-exec/shared/lease-shell/frames.ts";
import { LeaseShellClient } from "./lease-shell-client.ts";
import { InvalidLeaseShellRequestError } from "./lease-shell-url.ts";

/**
 * Edge cases of the lease-shell exchange against a tiny real WebSocket server scripted per test (real sockets, real
 * frames). The behaviour of a real provider is covered against akash-sim in lease-shell-client.test.ts.
 */

type Script = (ws: WebSocket, request: IncomingMessage) => void;

interface FakeProvider {
  url: string;
  connections: number;
  requests: IncomingMessage[];
  received: Buffer[];
  /** Decides what happens to each upgrade request; the default upgrades and runs `script`. */
  onUpgrade: (request: IncomingMessage, socket: Socket, head: Buffer) => void;
  script: Script;
}

const servers: Server[] = [];
const openSockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function fakeProvider(script: Script = () => undefined): Promise<FakeProvider> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer((_request, response) => response.writeHead(405).end());
  const provider: FakeProvider = {
    url: "",
    connections: 0,
    requests: [],
    received: [],
    script,
    onUpgrade: (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on("message", (data: Buffer) => provider.received.push(data));
        provider.script(ws, request);
      });
    },
  };
  server.on("connection", (socket: Socket) => {
    provider.connections += 1;
    openSockets.add(socket);
    socket.on("close", () => openSockets.delete(socket));
  });
  server.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
    provider.requests.push(request);
    provider.onUpgrade(request, socket, head);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider;
}

const client = new LeaseShellClient({ logger: pino({ level: "silent" }) });

function request(provider: FakeProvider, patch: Partial<LeaseShellRequest> = {}): LeaseShellRequest {
  return {
    hostUri: provider.url,
    dseq: "42",
    gseq: 1,
    oseq: 1,
    service: "web",
    podIndex: 0,
    argv: ["sh", "-c", "echo hi"],
    auth: { kind: "jwt", token: "token-123" },
    tls: { onChainCertificatesPem: [] },
    deadlineMs: 10_000,
    maxOutputBytes: 1024 * 1024,
    connectTimeoutMs: 2_000,
    ...patch,
  };
}

/** Ends like the real provider: the result frame, then TCP dropped without a close frame. */
function finish(ws: WebSocket, exitCode: number, message?: string): void {
  ws.send(encodeResultFrame(exitCode, message), () => ws.terminate());
}

function expectError(outcome: ExecOutcome, code: string, commandMayHaveRun: boolean): void {
  expect(outcome.kind, JSON.stringify({ ...outcome, stdout: undefined, stderr: undefined })).toBe("error");
  if (outcome.kind !== "error") return;
  expect(outcome.code).toBe(code);
  expect(outcome.commandMayHaveRun).toBe(commandMayHaveRun);
}

describe("LeaseShellClient edge cases", () => {
  it("sends the bearer token and the query, ignores text and empty frames, and ends on the 102", async () => {
    const provider = await fakeProvider((ws) => {
      ws.send("a text frame is ignored");
      ws.send(Buffer.alloc(0));
      ws.send(encodeFrame(FrameCode.Stdout, Buffer.from("hi\n")));
      ws.send(encodeFrame(FrameCode.Stderr, Buffer.from([0xff, 0xfe])));
      finish(ws, 3);
    });
    const outcome = await client.exec(request(provider));
    expect(outcome).toMatchObject({ kind: "exited", exitCode: 3, stdoutBytes: 3, stderrBytes: 2, truncated: false });
    expect(outcome.stdout.toString()).toBe("hi\n");
    expect(outcome.stderr).toEqual(Buffer.from([0xff, 0xfe]));
    const seen = provider.requests[0]!;
    expect(seen.headers.authorization).toBe("Bearer token-123");
    expect(seen.url).toBe("/lease/42/1/1/shell?cmd0=sh&cmd1=-c&cmd2=echo+hi&service=web&stdin=0&tty=0&podIndex=0");
  });

  it("calls beforeSend once, after the connection is up and before the request is written", async () => {
    const provider = await fakeProvider((ws) => finish(ws, 0));
    const observed: { connections: number; requests: number }[] = [];
    const outcome = await client.exec(
      request(provider, {
        beforeSend: async () => {
          // Let the server's 'connection' event run: the TCP connection exists before the marker is set.
          await new Promise((resolve) => setTimeout(resolve, 20));
          observed.push({ connections: provider.connections, requests: provider.requests.length });
        },
      }),
    );
    expect(outcome.kind).toBe("exited");
    expect(observed).toEqual([{ connections: 1, requests: 0 }]);
    expect(provider.requests).toHaveLength(1);
  });

  it("sends nothing when beforeSend throws, and says the command did not run", async () => {
    const provider = await fakeProvider((ws) => finish(ws, 0));
    const outcome = await client.exec(request(provider, { beforeSend: () => Promise.reject(new Error("job canceled")) }));
    expectError(outcome, "PROVIDER_UNREACHABLE", false);
    if (outcome.kind === "error") expect(outcome.message).toMatch(/job canceled/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(provider.requests).toHaveLength(0);
  });

  it("delivers stdin exactly as 104 frames, in order, and never an empty 104", async () => {
    const stdin = Buffer.alloc(300 * 1024);
    for (let i = 0; i < stdin.length; i++) stdin[i] = (i * 7919) % 256;
    const provider = await fakeProvider((ws, req) => {
      expect(new URL(req.url!, "http://x").searchParams.get("stdin")).toBe("1");
      let got = 0;
      ws.on("message", (data: Buffer) => {
        got += data.length - 1;
        if (got >= stdin.length) finish(ws, 0);
      });
    });
    const outcome = await client.exec(request(provider, { stdin }));
    expect(outcome.kind).toBe("exited");
    expect(provider.received.every((frame) => frame[0] === FrameCode.Stdin && frame.length > 1)).toBe(true);
    expect(Buffer.concat(provider.received.map((frame) => frame.subarray(1))).equals(stdin)).toBe(true);
  });

  it("sends no frame at all for an empty stdin", async () => {
    const provider = await fakeProvider((ws) => setTimeout(() => finish(ws, 0), 100));
    const outcome = await client.exec(request(provider, { stdin: Buffer.alloc(0) }));
    expect(outcome.kind).toBe("exited");
    expect(provider.requests[0]!.url).toContain("stdin=1");
    expect(provider.received).toHaveLength(0);
  });

  it("treats exit_code 0 with a message as an error, keeping the output", async () => {
    const provider = await fakeProvider((ws) => {
      ws.send(encodeFrame(FrameCode.Stdout, Buffer.from("partial")));
      finish(ws, 0, "remote command execute error: pod index out of range: valid range is [0, 0]");
    });
    const outcome = await client.exec(request(provider, { podIndex: 5 }));
    expectError(outcome, "PROVIDER_EXEC_FAILED", false);
    expect(outcome.stdout.toString()).toBe("partial");
    if (outcome.kind === "error") expect(outcome.providerMessage).toMatch(/pod index out of range/);
  });

  it.each([
    ["an unknown frame code", encodeFrame(7 as never, Buffer.from("x"))],
    ["an unparsable 102", encodeFrame(FrameCode.Result, Buffer.from("{not json"))],
    ["a 102 without exit_code", encodeFrame(FrameCode.Result, Buffer.from('{"message":"x"}\n'))],
  ])("reports %s as a protocol error and closes", async (_name, frame) => {
    let serverClosed = false;
    const provider = await fakeProvider((ws) => {
      ws.on("close", () => (serverClosed = true));
      ws.send(encodeFrame(FrameCode.Stdout, Buffer.from("before")));
      ws.send(frame);
    });
    const outcome = await client.exec(request(provider));
    expectError(outcome, "PROVIDER_PROTOCOL_ERROR", true);
    expect(outcome.stdout.toString()).toBe("before");
    await expect.poll(() => serverClosed).toBe(true);
  });

  it("refuses a message larger than the frame limit as a protocol error", async () => {
    const small = new LeaseShellClient({ logger: pino({ level: "silent" }), maxFrameBytes: 64 * 1024 });
    const provider = await fakeProvider((ws) => ws.send(encodeFrame(FrameCode.Stdout, Buffer.alloc(128 * 1024))));
    expectError(await small.exec(request(provider)), "PROVIDER_PROTOCOL_ERROR", true);
  });

  it("reports a clean close frame without a result as a disconnect", async () => {
    const provider = await fakeProvider((ws) => {
      ws.send(encodeFrame(FrameCode.Stdout, Buffer.from("so far")));
      ws.close(1000);
    });
    const outcome = await client.exec(request(provider));
    expectError(outcome, "PROVIDER_DISCONNECTED", true);
    expect(outcome.stdout.toString()).toBe("so far");
  });

  it("reports a request that is never answered as unreachable, possibly run", async () => {
    const provider = await fakeProvider();
    provider.onUpgrade = () => undefined;
    const started = performance.now();
    const outcome = await client.exec(request(provider, { connectTimeoutMs: 300 }));
    expectError(outcome, "PROVIDER_UNREACHABLE", true);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(provider.requests).toHaveLength(1);
  });

  it("reports a connection reset after the request as unreachable, possibly run", async () => {
    const provider = await fakeProvider();
    provider.onUpgrade = (_request, socket) => socket.destroy();
    expectError(await client.exec(request(provider)), "PROVIDER_UNREACHABLE", true);
  });

  it("reports a 101 with a wrong Sec-WebSocket-Accept as a protocol error", async () => {
    const provider = await fakeProvider();
    provider.onUpgrade = (_request, socket) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n");
    };
    expectError(await client.exec(request(provider)), "PROVIDER_PROTOCOL_ERROR", true);
  });

  it("keeps the provider's status and message when it refuses the upgrade, even with a body that never ends", async () => {
    const provider = await fakeProvider();
    provider.onUpgrade = (_request, socket) => {
      socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"message":"JWT is expired"}');
    };
    const outcome = await client.exec(request(provider, { connectTimeoutMs: 500 }));
    expectError(outcome, "PROVIDER_AUTH_FAILED", false);
    if (outcome.kind === "error") {
      expect(outcome.httpStatus).toBe(401);
      expect(outcome.providerMessage).toBe("JWT is expired");
    }
  });

  it("answers pings while the command runs", async () => {
    let pongs = 0;
    const provider = await fakeProvider((ws) => {
      ws.on("pong", () => (pongs += 1));
      ws.ping();
      ws.ping();
      setTimeout(() => finish(ws, 0), 150);
    });
    expect((await client.exec(request(provider))).kind).toBe("exited");
    expect(pongs).toBe(2);
  });

  it("times out at the deadline with the output so far and closes at once", async () => {
    let serverClosedAt = 0;
    const provider = await fakeProvider((ws) => {
      ws.send(encodeFrame(FrameCode.Stdout, Buffer.from("tick\n")));
      ws.on("close", () => (serverClosedAt = performance.now()));
    });
    const outcome = await client.exec(request(provider, { deadlineMs: 300 }));
    const endedAt = performance.now();
    expect(outcome).toMatchObject({ kind: "timed_out", stdoutBytes: 5 });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(290);
    await expect.poll(() => serverClosedAt).toBeGreaterThan(0);
    expect(serverClosedAt - endedAt).toBeLessThan(1_000);
  });

  it("cancels on abort with the output so far", async () => {
    const provider = await fakeProvider((ws) => ws.send(encodeFrame(FrameCode.Stdout, Buffer.from("working"))));
    const controller = new AbortController();
    const pending = client.exec(request(provider, { signal: controller.signal }));
    await expect.poll(() => provider.requests.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    const outcome = await pending;
    expect(outcome).toMatchObject({ kind: "canceled", stdoutBytes: 7 });
  });

  it("does not connect when already aborted", async () => {
    const provider = await fakeProvider();
    const controller = new AbortController();
    controller.abort();
    let called = 0;
    const outcome = await client.exec(request(provider, { signal: controller.signal, beforeSend: () => Promise.resolve(void called++) }));
    expect(outcome.kind).toBe("canceled");
    expect(called).toBe(0);
    expect(provider.connections).toBe(0);
  });

  it("sends no Authorization header with mTLS auth", async () => {
    const provider = await fakeProvider((ws) => finish(ws, 0));
    // Plain ws:// here, so the client certificate itself is not exercised (provider-connection.test.ts does that).
    await client.exec(request(provider, { auth: { kind: "mtls", certPem: "unused", keyPem: "unused" } }));
    expect(provider.requests[0]!.headers.authorization).toBeUndefined();
  });

  it("rejects a request with an empty argv element before connecting", async () => {
    const provider = await fakeProvider();
    await expect(client.exec(request(provider, { argv: ["echo", ""] }))).rejects.toBeInstanceOf(InvalidLeaseShellRequestError);
    expect(provider.connections).toBe(0);
  });

  it.each([
    ["a negative output cap", { maxOutputBytes: -1 }],
    ["a fractional output cap", { maxOutputBytes: 1.5 }],
    ["a zero deadline", { deadlineMs: 0 }],
    ["a deadline past what a timer holds", { deadlineMs: 2 ** 31 }],
  ])("rejects %s before connecting", async (_name, patch) => {
    const provider = await fakeProvider();
    await expect(client.exec(request(provider, patch))).rejects.toBeInstanceOf(InvalidLeaseShellRequestError);
    expect(provider.connections).toBe(0);
  });
});
