import { readFile } from "node:fs/promises";

/** A V8 .cpuprofile (what `node --cpu-prof` writes). */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Time not idle. */
  busyMs: number;
  topFunctions: { name: string; ms: number; share: number }[];
  /** Self time grouped by where the code lives: a package, the project's own code, node internals, GC. */
  byArea: { area: string; ms: number; share: number }[];
}

export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return "node internals";
  const own = /\/(api|worker|shared|akash-sim|bench)\/src\//.exec(url);
  if (own) return `${own[1]}/ (project)`;
  return url;
}

function shortUrl(url: string): string {
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.*)$/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/((?:api|worker|shared|akash-sim|bench)\/src\/.*)$/.exec(url);
  return own ? own[1]! : url;
}

export function summarizeProfile(profile: CpuProfile, file: string, top = 8): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)!.callFrame;
    total += us;
    if (frame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    const name = frame.url ? `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : frame.functionName || "(anonymous)";
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const area = areaOf(frame.url, frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const busy = total - idle;
  const ranked = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    file,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    topFunctions: ranked(byFunction).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000, share: busy ? us / busy : 0 })),
    byArea: ranked(byArea).slice(0, top).map(([area, us]) => ({ area, ms: us / 1000, share: busy ? us / busy : 0 })),
  };
}

export async function summarizeProfileFile(file: string, top = 8): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, "utf8")) as CpuProfile, file, top);
}

export function renderProfileSummary(summary: ProfileSummary, label: string): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  return [
    `- **${label}** (${Math.round(summary.busyMs)} ms busy of ${Math.round(summary.totalMs)} ms): by area ` +
      summary.byArea.map((a) => `${a.area} ${pct(a.share)}`).join(", "),
    ...summary.topFunctions.map((f) => `  - ${pct(f.share)} ${f.name}`),
  ].join("\n");
}
