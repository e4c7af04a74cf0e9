import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { findFreePort, startRedisServer, type RedisServerHandle } from "@shell-exec/shared/redis/redis-server.ts";

/**
 * Process management for the benchmark: every scenario runs its own redis-server, akash-sim, API and worker
 * processes, so each one's CPU and memory are its own and nothing is shared between scenarios.
 */

export const REPO_ROOT = join(import.meta.dirname, "../..");

export interface ChildOptions {
  name: string;
  script: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra node flags, e.g. ["--cpu-prof", "--cpu-prof-dir=…"]. */
  nodeArgs?: string[];
  /** Raise the soft open-file limit to the hard one (sockets) before node starts. */
  raiseFdLimit?: boolean;
  ipc?: boolean;
}

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last ~8 KiB of stdout+stderr (for error messages). */
  output(): string;
  /** Lines of stdout seen so far (parsed lazily by callers). */
  onLine(listener: (line: string) => void): void;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ManagedChild>();

export function spawnNode(options: ChildOptions): ManagedChild {
  const nodeArgv = [...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])];
  const stdio: ("ignore" | "pipe" | "ipc")[] = ["ignore", "pipe", "pipe"];
  if (options.ipc) stdio.push("ipc");
  const env = { ...process.env, ...options.env };
  const child = options.raiseFdLimit
    ? spawn("/bin/sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...nodeArgv], { env, stdio, cwd: REPO_ROOT })
    : spawn(process.execPath, nodeArgv, { env, stdio, cwd: REPO_ROOT });
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  let tail = "";
  const lineListeners: ((line: string) => void)[] = [];
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    tail = (tail + text).slice(-8192);
    if (lineListeners.length === 0) return;
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) for (const listener of lineListeners) listener(line);
  });
  child.stderr?.on("data", (chunk: Buffer) => (tail = (tail + chunk.toString("utf8")).slice(-8192)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const managed: ManagedChild = {
    name: options.name,
    pid: child.pid,
    child,
    output: () => tail,
    onLine: (listener) => void lineListeners.push(listener),
    exited: () => exited,
    async stop(graceMs = 10_000) {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exit;
        clearTimeout(timer);
      }
      running.delete(managed);
    },
  };
  running.add(managed);
  return managed;
}

/** Kills whatever is still running (error paths, Ctrl-C). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop(2_000)));
}

function exitedError(child: ManagedChild, what: string): Error {
  return new Error(`${child.name} exited before ${what}:\n${child.output()}`);
}

/** Resident set size and its peak, from /proc (Linux), in bytes. */
export function memoryOf(pid: number): { rss: number; peakRss: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb("VmRSS"), peakRss: kb("VmHWM") };
}

/**
 * RSS split by kind of mapping (from /proc/<pid>/smaps), in bytes: `brk` is the C heap grown with brk (glibc's main
 * arena: small native allocations), `anon` every other anonymous mapping (V8's heap spaces, mmapped malloc chunks,
 * thread arenas), `file` code and other file-backed pages.
 */
export function rssByMapping(pid: number): { brk: number; anon: number; file: number } {
  const totals = { brk: 0, anon: 0, file: 0 };
  let kind: keyof typeof totals = "anon";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[1] ?? "";
      kind = name === "[heap]" ? "brk" : name === "" || name.startsWith("[") ? "anon" : "file";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals[kind] += Number(rss[1]) * 1024;
  }
  return totals;
}

/** CPU time (user + system) a process has used so far, in milliseconds (from /proc/<pid>/stat). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the state field.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

// ---------------------------------------------------------------------------------------------------------------
// Redis

export interface BenchRedis {
  server: RedisServerHandle;
  url: string;
  /** A plain command connection for the bench itself (named shell-exec-bench, so it never counts as the API's). */
  client: Redis;
  /** `CLIENT LIST` entries, grouped by name. */
  clientsByName(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<BenchRedis> {
  const server = await startRedisServer();
  const client = new Redis(server.url, { connectionName: "bench", maxRetriesPerRequest: null });
  return {
    server,
    url: server.url,
    client,
    async clientsByName() {
      const list = (await client.call("CLIENT", "LIST")) as string;
      const counts = new Map<string, number>();
      for (const line of list.split("\n")) {
        if (!line.trim()) continue;
        const name = /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "";
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      return counts;
    },
    async stop() {
      await client.quit().catch(() => client.disconnect());
      await server.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// akash-sim

export interface SimInfo {
  chainUrl: string;
  providers: { address: string; url: string; httpUrl?: string; hostUri: string }[];
}

export interface RunningSim extends SimInfo {
  process: ManagedChild;
  stop(): Promise<void>;
}

/**
 * The simulator as a process of its own: bench/src/children/sim.ts (startAkashSim) prints one JSON line with chainUrl
 * and providers when ready, as akash-sim's own bin does.
 */
export async function startSimProcess(seed: unknown, options: { nodeArgs?: string[]; http?: boolean } = {}): Promise<RunningSim> {
  const dir = await mkdtemp(join(tmpdir(), "shell-exec-bench-sim-"));
  const seedFile = join(dir, "seed.json");
  await writeFile(seedFile, JSON.stringify(seed));
  const child = spawnNode({
    name: "akash-sim",
    script: "bench/src/children/sim.ts",
    args: [seedFile],
    env: { LOG_LEVEL: "warn", BENCH_SIM_HTTP: options.http ? "1" : "0" },
    nodeArgs: options.nodeArgs,
    raiseFdLimit: true,
  });
  const info = await new Promise<SimInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`akash-sim not ready within 60 s:\n${child.output()}`)), 60_000);
    child.onLine((line) => {
      if (!line.startsWith("{")) return;
      try {
        const parsed = JSON.parse(line) as Partial<SimInfo>;
        if (typeof parsed.chainUrl === "string" && Array.isArray(parsed.providers)) {
          clearTimeout(timer);
          resolve(parsed as SimInfo);
        }
      } catch {
        // a log line that is not the ready line
      }
    });
    child.child.once("exit", () => {
      clearTimeout(timer);
      reject(exitedError(child, "it was ready"));
    });
  });
  return {
    ...info,
    process: child,
    async stop() {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// API and worker processes (their real entry points, configured by environment)

export interface RunningApiProcess {
  url: string;
  process: ManagedChild;
  stop(): Promise<void>;
}

export async function startApiProcess(env: Record<string, string>, options: { nodeArgs?: string[] } = {}): Promise<RunningApiProcess> {
  const port = await findFreePort();
  const child = spawnNode({
    name: "api",
    script: "api/src/main.ts",
    env: { ...env, PORT: String(port), HOST: "127.0.0.1" },
    nodeArgs: options.nodeArgs,
    raiseFdLimit: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exited()) throw exitedError(child, "it listened");
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`api not ready within 30 s:\n${child.output()}`);
    await sleep(50);
  }
  return { url, process: child, stop: () => child.stop() };
}

export interface RunningWorkerProcess {
  process: ManagedChild;
  stop(): Promise<void>;
}

export async function startWorkerProcess(env: Record<string, string>, options: { nodeArgs?: string[]; script?: string } = {}): Promise<RunningWorkerProcess> {
  const child = spawnNode({
    name: "worker",
    script: options.script ?? "worker/src/main.ts",
    env,
    nodeArgs: options.nodeArgs,
    raiseFdLimit: true,
    ipc: true,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready within 30 s:\n${child.output()}`)), 30_000);
    child.child.once("message", () => {
      clearTimeout(timer);
      resolve();
    });
    child.child.once("exit", () => {
      clearTimeout(timer);
      reject(exitedError(child, "it was ready"));
    });
  });
  return { process: child, stop: () => child.stop(35_000) };
}
