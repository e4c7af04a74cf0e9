/**
 * A small Dockerfile reader, enough to check this project's Dockerfile without a Docker engine: instructions with
 * line continuations and comments handled, stages (`FROM … AS name`) with global `ARG` defaults substituted.
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY… */
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  args: string;
  /** 1-based line the instruction starts on. */
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The image or earlier stage it starts from, with ARG defaults substituted. */
  from: string;
  index: number;
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let current: { parts: string[]; line: number } | null = null;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines (also inside a continued instruction) and blank lines are skipped, as Docker does.
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const continues = trimmed.endsWith("\\");
    const content = continues ? trimmed.slice(0, -1).trim() : trimmed;
    if (current) current.parts.push(content);
    else current = { parts: [content], line: index + 1 };
    if (!continues) {
      const joined = current.parts.filter(Boolean).join(" ");
      const [keyword = "", ...rest] = joined.split(/\s+/);
      instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), line: current.line });
      current = null;
    }
  });
  if (current) throw new Error(`Dockerfile ends inside a continued instruction (line ${(current as { line: number }).line})`);
  return instructions;
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"));
      const image = substitute(words[0] ?? "", globalArgs);
      const name = words.length >= 3 && words[1]!.toUpperCase() === "AS" ? words[2] : undefined;
      stages.push({ name, from: image, index: stages.length, line: instruction.line, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (instruction.keyword !== "ARG") throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      const [name = "", value = ""] = instruction.args.split("=", 2);
      globalArgs[name.trim()] = unquote(value.trim());
      continue;
    }
    stage.instructions.push(instruction);
  }
  return { globalArgs, stages };
}

/** `--name=value` flags at the start of an instruction's arguments (COPY --from=…, RUN --mount=…). */
export function flags(instruction: Instruction): Record<string, string> {
  const result: Record<string, string> = {};
  for (const word of instruction.args.split(/\s+/)) {
    if (!word.startsWith("--")) break;
    const [name = "", value = ""] = word.slice(2).split("=", 2);
    result[name] = value;
  }
  return result;
}

/** Arguments after the leading flags. */
export function withoutFlags(instruction: Instruction): string {
  return instruction.args.replace(/^(--\S+\s+)*/, "");
}

/** ENTRYPOINT/CMD in exec (JSON) form as an array; shell form as ["/bin/sh", "-c", text]. */
export function execForm(instruction: Instruction): string[] {
  const args = instruction.args.trim();
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return ["/bin/sh", "-c", args];
}

/** ENV KEY=value pairs (also the legacy `ENV KEY value` form). */
export function envPairs(instruction: Instruction): Record<string, string> {
  const args = instruction.args.trim();
  if (!args.includes("=") || /^\S+\s/.test(args.split("=")[0]!)) {
    const [key = "", ...value] = args.split(/\s+/);
    return { [key]: value.join(" ") };
  }
  const result: Record<string, string> = {};
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    result[match[1]!] = unquote(match[2]!);
  }
  return result;
}

/** The user a stage's processes run as: its last USER, else its parent stage's, else root (base images' default). */
export function effectiveUser(dockerfile: Dockerfile, stage: Stage): string {
  const users = stage.instructions.filter((instruction) => instruction.keyword === "USER");
  if (users.length > 0) return users.at(-1)!.args.trim();
  const parent = dockerfile.stages.slice(0, stage.index).findLast((candidate) => candidate.name === stage.from);
  return parent ? effectiveUser(dockerfile, parent) : "root";
}

function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_match, braced: string | undefined, bare: string | undefined) => args[braced ?? bare!] ?? "");
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}
