/**
 * The project's own rules for Dockerfile and docker-compose.yml, beyond what the Compose schema checks. Each check
 * returns a list of problems (empty when the file follows the rules), so tests can show a broken copy fails.
 */
import { matchesGlob } from "node:path";
import { durationSeconds } from "./compose-schema.ts";
import { effectiveUser, envPairs, execForm, flags, parseDockerfile, withoutFlags, type Dockerfile, type Stage } from "./dockerfile.ts";

/** The roles the image documents in its header: `#   <role>  node <entry file> [args]`. */
export function dockerfileRoles(text: string): Map<string, string> {
  const roles = new Map<string, string>();
  for (const match of text.matchAll(/^#\s+([a-z][a-z0-9-]*)\s+node\s+(\S+\.ts)\b/gm)) roles.set(match[1]!, match[2]!);
  return roles;
}

export interface DockerfileContext {
  /** Workspace package folders (pnpm-workspace.yaml `packages`). */
  workspacePackages: readonly string[];
  /** package.json `packageManager`, e.g. pnpm@12.21.0. */
  packageManager: string;
  /** Node major version the project runs on (.nvmrc). */
  nodeMajor: string;
}

export function checkDockerfile(text: string, context: DockerfileContext): string[] {
  const problems: string[] = [];
  let dockerfile: Dockerfile;
  try {
    dockerfile = parseDockerfile(text);
  } catch (error) {
    return [`does not parse: ${(error as Error).message}`];
  }
  const { stages } = dockerfile;
  if (stages.length < 2) problems.push("expected a multi-stage build (dependencies, runtime)");

  // Stage references: every COPY --from and FROM names an earlier stage (a later or unknown name would silently be
  // pulled as an image of that name).
  for (const stage of stages) {
    const later = stages.slice(stage.index).map((candidate) => candidate.name);
    if (later.includes(stage.from)) problems.push(`line ${stage.line}: FROM ${stage.from} names this or a later stage`);
    for (const instruction of stage.instructions) {
      const from = instruction.keyword === "COPY" ? flags(instruction).from : undefined;
      if (from === undefined) continue;
      const earlier = stages.slice(0, stage.index);
      const known = /^\d+$/.test(from) ? Number(from) < stage.index : earlier.some((candidate) => candidate.name === from);
      if (!known) problems.push(`line ${instruction.line}: COPY --from=${from} names no earlier stage`);
    }
  }

  const first = stages[0];
  if (first && first.from !== `node:${context.nodeMajor}-slim`) {
    problems.push(`the base image is ${first.from}, expected node:${context.nodeMajor}-slim (.nvmrc)`);
  }

  // Dependencies: manifests and lockfile first, then `pnpm install --frozen-lockfile`, sources only afterwards.
  const install = findInstruction(stages, (instruction) => instruction.keyword === "RUN" && /\bpnpm install\b/.test(instruction.args));
  if (!install) {
    problems.push("no stage runs `pnpm install`");
  } else {
    const { stage, instruction } = install;
    if (!/--frozen-lockfile\b/.test(instruction.args)) problems.push(`line ${instruction.line}: pnpm install without --frozen-lockfile`);
    const before = lineage(dockerfile, stage)
      .flatMap((ancestor) => ancestor.instructions)
      .filter((candidate) => candidate.line < instruction.line);
    const copiedSources = before
      .filter((candidate) => (candidate.keyword === "COPY" || candidate.keyword === "ADD") && flags(candidate).from === undefined)
      .flatMap((candidate) => copySources(candidate));
    for (const required of ["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", ...context.workspacePackages.map((pkg) => `${pkg}/package.json`)]) {
      if (!copiedSources.includes(required)) problems.push(`${required} is not copied before \`pnpm install\` (line ${instruction.line})`);
    }
    const early = copiedSources.filter((source) => !source.endsWith("package.json") && !/^pnpm-(lock|workspace)\.yaml$/.test(source));
    if (early.length > 0) problems.push(`copied before \`pnpm install\`, so every source edit reinstalls: ${early.join(", ")}`);
    const pnpmSetup = before.find((candidate) => candidate.keyword === "RUN" && /\bpnpm@/.test(candidate.args));
    const pinned = pnpmSetup?.args.match(/\bpnpm@(\d[\w.+-]*)/)?.[1];
    const wanted = context.packageManager.replace(/^pnpm@/, "").split("+")[0];
    if (!pnpmSetup) problems.push("pnpm is not installed at a pinned version before `pnpm install`");
    else if (pinned ? pinned !== wanted : !pnpmSetup.args.includes("packageManager")) {
      problems.push(`line ${pnpmSetup.line}: pnpm must be the packageManager version (${wanted})`);
    }
  }

  // Runtime: the last stage.
  const runtime = stages.at(-1);
  if (runtime) {
    const user = effectiveUser(dockerfile, runtime);
    if (["root", "0", "0:0", "root:root", ""].includes(user)) problems.push(`the runtime stage runs as root (USER ${user || "unset"})`);
    const env = Object.assign({}, ...lineage(dockerfile, runtime).flatMap((stage) => stage.instructions.filter((i) => i.keyword === "ENV").map(envPairs))) as Record<string, string>;
    if (env.NODE_ENV !== "production") problems.push("the runtime stage does not set NODE_ENV=production");
    const entrypoint = lastInstruction(dockerfile, runtime, "ENTRYPOINT");
    if (!entrypoint || !/\b(tini|docker-init|dumb-init)\b/.test(execForm(entrypoint)[0] ?? "")) {
      problems.push("the runtime stage has no init (tini) as ENTRYPOINT to forward signals and reap children");
    }
    const cmd = lastInstruction(dockerfile, runtime, "CMD");
    const roles = [...dockerfileRoles(text).values()];
    if (roles.length === 0) problems.push("the header documents no roles (`#   <role>  node <entry file>`)");
    const command = cmd ? execForm(cmd) : [];
    if (command[0] !== "node" || !roles.includes(command[1] ?? "")) problems.push(`the default CMD ${JSON.stringify(command)} is not one of the roles`);
    const tooling = lineage(dockerfile, runtime).flatMap((stage) => stage.instructions).find((i) => i.keyword === "RUN" && /\b(pnpm|npm)\b/.test(i.args));
    if (tooling) problems.push(`line ${tooling.line}: the runtime stage inherits package-manager tooling: ${tooling.args.slice(0, 60)}`);
  }
  return problems;
}

export interface ComposeContext {
  /** Dockerfile stages by name and its roles (role → entry file). */
  dockerfileStages: readonly string[];
  roles: ReadonlyMap<string, string>;
  /** Environment variables each role's config schema knows. */
  knownEnv: Readonly<Record<string, readonly string[]>>;
}

type Service = Record<string, unknown> & {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
};

/** Checks a parsed (merge keys resolved, variables interpolated) Compose file. */
export function checkCompose(compose: unknown, context: ComposeContext): string[] {
  const problems: string[] = [];
  const file = compose as { services?: Record<string, Service>; volumes?: Record<string, unknown>; secrets?: Record<string, unknown> };
  const services = file.services ?? {};
  const names = Object.keys(services);
  const service = (name: string): Service | undefined => {
    const found = services[name];
    if (!found) problems.push(`service ${name} is missing`);
    return found;
  };

  // Services that run our image pick a Dockerfile role by their command.
  const ownImages = new Set(Object.values(services).filter((s) => s.build !== undefined).map((s) => s.image));
  const rolesUsed = new Set<string>();
  for (const [name, svc] of Object.entries(services)) {
    if (svc.build === undefined && !ownImages.has(svc.image)) continue;
    if (typeof svc.build === "object" && svc.build.target !== undefined && !context.dockerfileStages.includes(svc.build.target)) {
      problems.push(`${name}: build.target ${svc.build.target} is not a Dockerfile stage`);
    }
    const command = Array.isArray(svc.command) ? svc.command : typeof svc.command === "string" ? svc.command.split(/\s+/) : [];
    const role = [...context.roles].find(([, entry]) => command[0] === "node" && command[1] === entry)?.[0];
    if (!role) {
      problems.push(`${name}: command ${JSON.stringify(svc.command ?? null)} is not \`node <entry>\` of a Dockerfile role (${[...context.roles.values()].join(", ")})`);
      continue;
    }
    rolesUsed.add(role);
    if (context.roles.has(name) && role !== name) problems.push(`${name}: runs the ${role} role`);
    const user = typeof svc.user === "string" || typeof svc.user === "number" ? String(svc.user) : undefined;
    if (user !== undefined && /^(root|0)(:|$)/.test(user)) problems.push(`${name}: runs as root`);
    if (svc.env_file !== undefined) problems.push(`${name}: env_file used; keep the environment in its \`environment:\` block`);
    const env = environment(svc);
    const known = context.knownEnv[role];
    if (known) {
      const unknown = Object.keys(env).filter((key) => !known.includes(key));
      if (unknown.length > 0) problems.push(`${name}: environment names its config does not read: ${unknown.join(", ")}`);
    }
    for (const key of ["REDIS_URL", "AKASH_REST_URL"]) {
      if (env[key] === undefined) continue;
      const host = hostOf(env[key]);
      if (!host || !names.includes(host)) problems.push(`${name}: ${key}=${env[key]} does not point at a service of this file`);
    }
    if (env.PROVIDER_TLS_INSECURE !== undefined && ["true", "1", "yes"].includes(env.PROVIDER_TLS_INSECURE) && hostOf(env.AKASH_REST_URL ?? "") !== "akash-sim") {
      problems.push(`${name}: PROVIDER_TLS_INSECURE is only for akash-sim`);
    }
    const mnemonicFile = env.AKASH_WALLET_MNEMONIC_FILE;
    if (mnemonicFile !== undefined) {
      const secret = mnemonicFile.match(/^\/run\/secrets\/([^/]+)$/)?.[1];
      const mounted = ((svc.secrets as (string | { source: string })[] | undefined) ?? []).map((s) => (typeof s === "string" ? s : s.source));
      if (!secret || !mounted.includes(secret) || !file.secrets?.[secret]) {
        problems.push(`${name}: AKASH_WALLET_MNEMONIC_FILE=${mnemonicFile} is not a secret this service mounts`);
      }
    }
    const grace = env.SHUTDOWN_GRACE_SECONDS;
    if (grace !== undefined) {
      const stop = typeof svc.stop_grace_period === "string" ? durationSeconds(svc.stop_grace_period) : 10;
      if (stop <= Number(grace)) problems.push(`${name}: stop_grace_period (${stop}s) must exceed SHUTDOWN_GRACE_SECONDS (${grace})`);
    }
  }
  for (const role of context.roles.keys()) if (!rolesUsed.has(role)) problems.push(`no service runs the ${role} role`);

  const redis = service("redis");
  if (redis) {
    const command = Array.isArray(redis.command) ? redis.command.join(" ") : String(redis.command ?? "");
    if (!/--appendonly\s+yes\b/.test(command)) problems.push("redis: append-only persistence is not on (--appendonly yes)");
    const volumes = ((redis.volumes as (string | { type?: string; source?: string; target?: string })[] | undefined) ?? []).map((volume) =>
      typeof volume === "string" ? { source: volume.split(":")[0], target: volume.split(":")[1] } : volume,
    );
    const data = volumes.find((volume) => volume.target === "/data");
    if (!data?.source || !file.volumes || !(data.source in file.volumes)) problems.push("redis: /data is not on a named volume");
    if (!hasHealthcheck(redis)) problems.push("redis: no healthcheck");
  }

  const api = service("api");
  if (api) {
    const ports = ((api.ports as (string | number | { target?: number | string })[] | undefined) ?? []).map((port) =>
      typeof port === "object" ? String(port.target) : String(port).split(":").at(-1)!.split("/")[0],
    );
    if (!ports.includes("8080")) problems.push("api: port 8080 is not published");
    if (!hasHealthcheck(api) || !JSON.stringify((api.healthcheck as { test?: unknown }).test).includes("/healthz")) {
      problems.push("api: no healthcheck on /healthz");
    }
  }
  for (const name of ["api", "worker"]) {
    const svc = services[name];
    const condition = (svc?.depends_on as Record<string, { condition?: string }> | undefined)?.redis?.condition;
    if (svc && condition !== "service_healthy") problems.push(`${name}: does not wait for redis to be healthy`);
  }

  const worker = service("worker");
  if (worker) {
    // `docker compose up --scale worker=N` needs containers that can be told apart and share no host port.
    for (const key of ["container_name", "ports", "hostname"]) {
      if (worker[key] !== undefined) problems.push(`worker: ${key} prevents --scale worker=N`);
    }
    if (worker.stop_grace_period === undefined) problems.push("worker: no stop_grace_period for running commands to finish");
  }
  return problems;
}

/** The stage and its ancestors (FROM an earlier stage), root first. */
function lineage(dockerfile: Dockerfile, stage: Stage): Stage[] {
  const parent = dockerfile.stages.slice(0, stage.index).findLast((candidate) => candidate.name === stage.from);
  return parent ? [...lineage(dockerfile, parent), stage] : [stage];
}

function lastInstruction(dockerfile: Dockerfile, stage: Stage, keyword: string) {
  return lineage(dockerfile, stage).flatMap((s) => s.instructions).findLast((instruction) => instruction.keyword === keyword);
}

function findInstruction(stages: readonly Stage[], predicate: (instruction: Stage["instructions"][number]) => boolean) {
  for (const stage of stages) {
    const instruction = stage.instructions.find(predicate);
    if (instruction) return { stage, instruction };
  }
  return undefined;
}

/** Source paths of a COPY/ADD (all words but the last, flags removed), normalised (`./x` → `x`). */
function copySources(instruction: Stage["instructions"][number]): string[] {
  const args = withoutFlags(instruction);
  const words = args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  return words.slice(0, -1).map((word) => word.replace(/^\.\//, "").replace(/\/$/, "") || ".");
}

function environment(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split("=")[0]!, entry.includes("=") ? entry.slice(entry.indexOf("=") + 1) : ""]));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? "" : String(value)]));
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function hasHealthcheck(svc: Service): boolean {
  const healthcheck = svc.healthcheck as { test?: unknown; disable?: boolean } | undefined;
  return Boolean(healthcheck?.test) && healthcheck?.disable !== true && JSON.stringify(healthcheck?.test) !== '["NONE"]';
}

/**
 * Whether `.dockerignore` keeps a path out of the build context: patterns in order, later ones win, `!` re-includes,
 * a pattern matching a folder excludes what is inside it.
 */
export function excludedFromContext(path: string, dockerignore: string): boolean {
  const patterns = dockerignore
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const segments = path.split("/");
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join("/"));
  let excluded = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+/, "").replace(/\/+$/, "");
    if (candidates.some((candidate) => matchesGlob(candidate, pattern))) excluded = !negated;
  }
  return excluded;
}
