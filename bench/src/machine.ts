import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./procs.ts";

export function machineInfo(): Record<string, unknown> {
  const list = cpus();
  return {
    os: `${type()} ${release()}`,
    cpuModel: list[0]?.model.trim() ?? "unknown",
    cpus: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverageStart: loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

export function loadAverageNow(): string {
  return loadavg().map((l) => l.toFixed(2)).join(" ");
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function packageVersion(fromPackage: string, name: string): string {
  try {
    const require = createRequire(join(REPO_ROOT, fromPackage, "package.json"));
    const main = require.resolve(name);
    let dir = main;
    for (let i = 0; i < 6; i++) {
      dir = join(dir, "..");
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      } catch {
        // keep walking up
      }
    }
  } catch {
    // not resolvable from there
  }
  return "unknown";
}

export function versions(): Record<string, string> {
  const commit = run("git", ["rev-parse", "--short=12", "HEAD"]);
  const dirty = run("git", ["status", "--porcelain", "--untracked-files=no"]);
  return {
    "shell-exec": `${commit}${dirty && dirty !== "unknown" ? " (+uncommitted changes)" : ""}`,
    node: process.versions.node,
    "redis-server": /v=(\S+)/.exec(run("redis-server", ["--version"]))?.[1] ?? "unknown",
    bullmq: packageVersion("worker", "bullmq"),
    ioredis: packageVersion("worker", "ioredis"),
    hono: packageVersion("api", "hono"),
    ws: packageVersion("worker", "ws"),
    undici: packageVersion(".", "undici"),
  };
}
