/**
 * `node bench/src/tools/heap-diff.ts before.heapsnapshot after.heapsnapshot [count]`: what the live heap gained
 * between two V8 heap snapshots, by object kind, and which functions the suspended async frames ("Generator"
 * objects) belong to. With `count` (e.g. the number of parked waiters) it also prints the gain per unit.
 * Used for scenario (5): `node bench/src/run.ts --only 5 --heap-snapshots`.
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapSummary {
  totalBytes: number;
  byKind: Map<string, { count: number; bytes: number }>;
  suspendedAsync: Map<string, number>;
}

export function summarizeHeap(snapshot: Snapshot): HeapSummary {
  const { node_fields: nf, node_types: [nodeTypes], edge_fields: ef, edge_types: [edgeTypes] } = snapshot.snapshot.meta;
  const [N, E] = [nf.length, ef.length];
  const [ti, ni, si, eci] = ["type", "name", "self_size", "edge_count"].map((f) => nf.indexOf(f)) as [number, number, number, number];
  const [eti, eni, eto] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f)) as [number, number, number];
  const byKind = new Map<string, { count: number; bytes: number }>();
  const suspendedAsync = new Map<string, number>();
  let totalBytes = 0;
  let edge = 0;
  const { nodes, edges, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += N) {
    const type = nodeTypes[nodes[i + ti]!]!;
    let name = strings[nodes[i + ni]!]!;
    const edgeCount = nodes[i + eci]!;
    if (type.includes("string")) name = "(string)";
    else if (type === "code") name = "(code)";
    const key = `${type}: ${name.slice(0, 60)}`;
    const entry = byKind.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + si]!;
    byKind.set(key, entry);
    totalBytes += nodes[i + si]!;
    if (type === "object" && name === "Generator") {
      let fn = "?";
      for (let k = 0; k < edgeCount; k++) {
        const b = edge + k * E;
        const kind = edgeTypes[edges[b + eti]!];
        if (kind !== "element" && kind !== "hidden" && strings[edges[b + eni]!] === "function") {
          fn = strings[nodes[edges[b + eto]! + ni]!] || "(anonymous)";
          break;
        }
      }
      suspendedAsync.set(fn, (suspendedAsync.get(fn) ?? 0) + 1);
    }
    edge += edgeCount * E;
  }
  return { totalBytes, byKind, suspendedAsync };
}

export function renderHeapDiff(before: HeapSummary, after: HeapSummary, count?: number): string {
  const per = (bytes: number) => (count ? ` (${(bytes / count).toFixed(0)} B per unit)` : "");
  const grown = after.totalBytes - before.totalBytes;
  const lines = [`live heap ${(before.totalBytes / 1e6).toFixed(1)} MB → ${(after.totalBytes / 1e6).toFixed(1)} MB: +${(grown / 1e6).toFixed(1)} MB${per(grown)}`];
  const diff = [...after.byKind]
    .map(([key, a]) => ({ key, count: a.count - (before.byKind.get(key)?.count ?? 0), bytes: a.bytes - (before.byKind.get(key)?.bytes ?? 0) }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, 15);
  for (const d of diff) lines.push(`  ${(d.bytes / 1e3).toFixed(0).padStart(7)} kB ${String(d.count).padStart(7)} × ${d.key}${count ? ` (${(d.count / count).toFixed(1)} per unit)` : ""}`);
  const frames = [...after.suspendedAsync]
    .map(([fn, n]) => [fn, n - (before.suspendedAsync.get(fn) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  if (frames.length) lines.push(`suspended async frames gained: ${frames.slice(0, 10).map(([fn, n]) => `${fn} ×${n}`).join(", ")}`);
  return lines.join("\n");
}

if (import.meta.filename === process.argv[1]) {
  const [beforeFile, afterFile, count] = process.argv.slice(2);
  if (!beforeFile || !afterFile) {
    console.error("usage: node bench/src/tools/heap-diff.ts before.heapsnapshot after.heapsnapshot [count]");
    process.exit(2);
  }
  const load = (file: string) => summarizeHeap(JSON.parse(readFileSync(file, "utf8")) as Snapshot);
  console.log(renderHeapDiff(load(beforeFile), load(afterFile), count ? Number(count) : undefined));
}
