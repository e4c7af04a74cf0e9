import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Logger } from "pino";
import type { LeaseRecord, ServiceRecord } from "../state.ts";

/**
 * Replica "containers": each (lease, service, pod index) is a sandbox directory (its filesystem) with its own
 * environment. Commands run as real child processes with the sandbox as cwd. When the sim runs as root and
 * `unshare` works, each process also gets a private mount namespace in which the configured container paths (default
 * /run/secrets) are bind mounts of the same paths inside the sandbox, so `/run/secrets/x` means this replica's file.
 *
 * Every process is tagged in its environment (AKASH_SIM_INSTANCE, AKASH_SIM_REPLICA), which descendants inherit:
 * scanning /proc/<pid>/environ finds every live process of a replica, including those that left its process group.
 */

export const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const INSTANCE_VAR = "AKASH_SIM_INSTANCE";
const REPLICA_VAR = "AKASH_SIM_REPLICA";
const ENTRYPOINT_VAR = "AKASH_SIM_ENTRYPOINT";

export interface ReplicaRef {
  dseq: string | number;
  gseq: number;
  oseq: number;
  service: string;
  podIndex: number;
  owner?: string;
}

export interface ReplicaContext {
  lease: LeaseRecord;
  service: ServiceRecord;
  podIndex: number;
}

export type CommandCheck = { ok: true } | { ok: false; reason: "not-found" | "not-executable" };

export interface EntrypointState {
  pid: number | undefined;
  /** Combined stdout+stderr, the last `ENTRYPOINT_OUTPUT_LIMIT` bytes. */
  output(): string;
  /** null while running. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ENTRYPOINT_OUTPUT_LIMIT = 1024 * 1024;

/** Probes once whether `unshare --mount` and bind mounts work here (root, no seccomp/AppArmor in the way). */
export function probeMountIsolation(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const result = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "/bin/sh", "-c", "mount --bind /tmp /mnt && umount /mnt"],
    { stdio: "ignore", timeout: 5_000 },
  );
  return result.status === 0;
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class ReplicaRuntime {
  readonly instanceId: string;
  readonly root: string;
  readonly pathsIsolated: boolean;
  readonly containerPaths: readonly string[];
  readonly #logger: Logger;
  readonly #children = new Set<ChildProcess>();
  readonly #entrypoints = new Map<string, EntrypointState>();
  readonly #prepared = new Set<string>();

  constructor(options: { instanceId: string; root: string; isolate: boolean; containerPaths: readonly string[]; logger: Logger }) {
    this.instanceId = options.instanceId;
    this.root = options.root;
    this.containerPaths = options.containerPaths.map((path) => resolve("/", path));
    this.#logger = options.logger;
    this.pathsIsolated = options.isolate;
    if (this.pathsIsolated) {
      // The mount points must exist on the host for the bind mounts inside each namespace.
      for (const path of this.containerPaths) mkdirSync(path, { recursive: true });
    }
  }

  replicaId(context: ReplicaContext): string {
    const { id } = context.lease;
    return `${this.instanceId}.${id.owner}.${id.dseq}.${id.gseq}.${id.oseq}.${id.provider}.${context.service.name}.${context.podIndex}`;
  }

  sandboxDir(context: ReplicaContext): string {
    const { id } = context.lease;
    return join(this.root, id.owner, `${id.dseq}-${id.gseq}-${id.oseq}`, context.service.name, String(context.podIndex));
  }

  /** Creates the sandbox and writes the service's seed files, once per replica. */
  prepare(context: ReplicaContext): string {
    const dir = this.sandboxDir(context);
    if (this.#prepared.has(dir)) return dir;
    mkdirSync(dir, { recursive: true });
    for (const path of this.containerPaths) mkdirSync(join(dir, path), { recursive: true });
    for (const [path, content] of Object.entries(context.service.files)) {
      const target = join(dir, resolve("/", path));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    this.#prepared.add(dir);
    return dir;
  }

  environment(context: ReplicaContext, extra: Record<string, string> = {}): Record<string, string> {
    const { id } = context.lease;
    const podHash = createHash("sha256").update(`${id.owner}/${id.dseq}/${id.gseq}/${id.oseq}`).digest("hex").slice(0, 10);
    return {
      PATH: CONTAINER_PATH,
      HOSTNAME: `${context.service.name}-${podHash}-${context.podIndex}`,
      HOME: this.sandboxDir(context),
      AKASH_DEPLOYMENT_SEQUENCE: id.dseq,
      AKASH_GROUP_SEQUENCE: String(id.gseq),
      AKASH_ORDER_SEQUENCE: String(id.oseq),
      AKASH_OWNER: id.owner,
      AKASH_PROVIDER: id.provider,
      ...context.service.env,
      ...extra,
      [INSTANCE_VAR]: this.instanceId,
      [REPLICA_VAR]: this.replicaId(context),
    };
  }

  /**
   * What the container runtime would say about argv[0] before running it: a path is looked up as is (container
   * paths inside the sandbox when isolated), a bare name along the container's PATH.
   */
  checkCommand(context: ReplicaContext, command: string): CommandCheck {
    const dir = this.sandboxDir(context);
    const env = this.environment(context);
    const candidates = command.includes("/")
      ? [this.hostPath(dir, command)]
      : (env.PATH ?? CONTAINER_PATH).split(":").filter(Boolean).map((entry) => this.hostPath(dir, join(entry, command)));
    let sawFile = false;
    for (const candidate of candidates) {
      let isFile: boolean;
      try {
        isFile = statSync(candidate).isFile();
      } catch {
        continue;
      }
      sawFile = true;
      if (!isFile) continue;
      try {
        accessSync(candidate, constants.X_OK);
        return { ok: true };
      } catch {
        // not executable: keep looking along PATH
      }
    }
    return { ok: false, reason: sawFile ? "not-executable" : "not-found" };
  }

  /** Where a container path is on the host: inside the sandbox for bound paths (when isolated) or relative paths. */
  hostPath(dir: string, path: string): string {
    if (!isAbsolute(path)) return join(dir, path);
    if (this.pathsIsolated) {
      for (const bound of this.containerPaths) {
        if (path === bound || path.startsWith(`${bound}/`)) return join(dir, path);
      }
    }
    return path;
  }

  /**
   * Starts argv in the replica. The child is the command itself (unshare and sh exec into it), in its own process
   * group, with the sandbox as cwd.
   */
  spawn(context: ReplicaContext, argv: readonly string[], options: { stdin: boolean; entrypoint?: boolean }): ChildProcess {
    const dir = this.prepare(context);
    const env = this.environment(context, options.entrypoint ? { [ENTRYPOINT_VAR]: "1" } : {});
    let file: string;
    let args: string[];
    if (this.pathsIsolated) {
      const mounts = this.containerPaths.map((path) => `mount --bind ${shellQuote(join(dir, path))} ${shellQuote(path)}`);
      const script = `${mounts.join(" && ")} && exec "$@"`;
      file = "unshare";
      args = ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", ...argv];
    } else {
      [file, ...args] = argv as [string, ...string[]];
    }
    const child = spawn(file, args, {
      cwd: dir,
      env,
      detached: true,
      stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    this.#children.add(child);
    child.once("close", () => this.#children.delete(child));
    child.once("error", (error) => {
      this.#logger.warn({ err: error, argv0: argv[0] }, "spawn failed");
      this.#children.delete(child);
    });
    return child;
  }

  startEntrypoint(context: ReplicaContext): void {
    const argv = context.service.entrypoint;
    const id = this.replicaId(context);
    if (!argv || this.#entrypoints.has(id)) return;
    const child = this.spawn(context, argv, { stdin: false, entrypoint: true });
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      while (size > ENTRYPOINT_OUTPUT_LIMIT && chunks.length > 1) size -= chunks.shift()!.length;
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const state: EntrypointState = {
      pid: child.pid,
      output: () => Buffer.concat(chunks).toString("utf8"),
      exit: null,
      exited: new Promise((resolveExit) => {
        child.once("close", (code, signal) => {
          state.exit = { code, signal };
          resolveExit(state.exit);
        });
        child.once("error", (error) => {
          collect(Buffer.from(`${error.message}\n`));
          state.exit = { code: 127, signal: null };
          resolveExit(state.exit);
        });
      }),
    };
    this.#entrypoints.set(id, state);
  }

  entrypoint(context: ReplicaContext): EntrypointState | undefined {
    return this.#entrypoints.get(this.replicaId(context));
  }

  /** Live processes whose environment carries the replica's tag (zombies and exited ones have none). */
  listProcesses(context: ReplicaContext, options: { includeEntrypoint?: boolean } = {}): number[] {
    const tag = `${REPLICA_VAR}=${this.replicaId(context)}`;
    return scanTaggedProcesses((environ) =>
      environ.includes(tag) && (options.includeEntrypoint === true || !environ.includes(`${ENTRYPOINT_VAR}=1`)),
    );
  }

  /** SIGKILLs every live process carrying this sim's tag; synchronous, so it also works in an 'exit' handler. */
  killTagged(): number {
    const tag = `${INSTANCE_VAR}=${this.instanceId}`;
    const pids = scanTaggedProcesses((environ) => environ.includes(tag));
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    return pids.length;
  }

  /** Kills every process this sim started (and their descendants, wherever they went) and waits for its children. */
  async killAll(): Promise<void> {
    for (let round = 0; round < 5 && this.killTagged() > 0; round++) {
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 20));
    }
    const waiting = [...this.#children].map(
      (child) =>
        new Promise<void>((resolveClose) => {
          child.once("close", () => resolveClose());
          setTimeout(resolveClose, 2_000).unref();
        }),
    );
    await Promise.all(waiting);
  }
}

/** PIDs of live processes whose /proc/<pid>/environ entries satisfy `match` (entries split on NUL). */
export function scanTaggedProcesses(match: (environ: string[]) => boolean): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "latin1");
    } catch {
      continue;
    }
    if (environ.length === 0) continue;
    if (match(environ.split("\0"))) pids.push(pid);
  }
  return pids;
}
