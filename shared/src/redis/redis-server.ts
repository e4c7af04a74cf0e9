import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServerOptions {
  /** Data directory; a fresh temporary one (removed on stop) when omitted. */
  dir?: string;
  /** Port to bind on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Append-only persistence: on for the local stack, off for tests. */
  appendOnly?: boolean;
  binary?: string;
}

export interface RedisServerHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

export class RedisServerNotFoundError extends Error {
  constructor(binary: string) {
    super(
      `${binary} was not found on PATH. Install it (Debian/Ubuntu: \`apt-get install redis-server\`, macOS: ` +
        "`brew install redis`), or point REDIS_URL at a running Redis, or start one with `docker compose up -d redis`.",
    );
    this.name = "RedisServerNotFoundError";
  }
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private redis-server bound to loopback and resolves once it accepts connections. A port taken between
 * choosing and binding (another process raced us) is retried with a new port.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = options.binary ?? "redis-server";
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "shell-exec-redis-")));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      const child = await spawnAndWaitReady(binary, dir, port, options.appendOnly ?? false);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        dir,
        stop: async () => {
          await stopChild(child);
          if (ownsDir) await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
      if (error instanceof RedisServerNotFoundError || options.port !== undefined) break;
    }
  }
  if (ownsDir) await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function spawnAndWaitReady(binary: string, dir: string, port: number, appendOnly: boolean): Promise<ChildProcess> {
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    "--save", "",
    "--appendonly", appendOnly ? "yes" : "no",
    "--protected-mode", "yes",
    "--daemonize", "no",
    "--loglevel", "notice",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not become ready within 10 s:\n${output.slice(-2000)}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        // Keep draining so the pipe never fills and blocks the server.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === "ENOENT" ? new RedisServerNotFoundError(binary) : error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}:\n${output.slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const killTimer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
