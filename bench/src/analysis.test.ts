import { describe, expect, it } from "vitest";
import { areaOf, summarizeProfile } from "./profile.ts";
import { renderHeapDiff, summarizeHeap } from "./tools/heap-diff.ts";

describe("CPU profile summary", () => {
  it("adds self time per function and area, leaving idle time out of the shares", () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    const summary = summarizeProfile(
      {
        nodes: [
          { id: 1, callFrame: frame("(root)", "") },
          { id: 2, callFrame: frame("(idle)", "") },
          { id: 3, callFrame: frame("mod", "file:///r/node_modules/.pnpm/@noble+curves@1/node_modules/@noble/curves/abstract/modular.js") },
          { id: 4, callFrame: frame("claim", "file:///r/shared/src/jobs/job-store.ts") },
        ],
        samples: [2, 3, 3, 4, 2],
        timeDeltas: [1000, 3000, 3000, 2000, 1000],
        startTime: 0,
        endTime: 10_000,
      },
      "x.cpuprofile",
    );
    expect(summary.totalMs).toBe(10);
    expect(summary.busyMs).toBe(8);
    expect(summary.topFunctions[0]).toEqual({ name: "mod @noble/curves/abstract/modular.js:10", ms: 6, share: 0.75 });
    expect(summary.byArea.map((a) => a.area)).toEqual(["@noble/curves", "shared/ (project)"]);
    expect(areaOf("node:internal/tls/wrap", "x")).toBe("node internals");
    expect(areaOf("", "(garbage collector)")).toBe("(garbage collector)");
  });
});

describe("heap snapshot diff", () => {
  // Two tiny snapshots: `after` holds one more Generator (suspended in function `wait`) and a 100-byte string.
  const meta = {
    node_fields: ["type", "name", "id", "self_size", "edge_count"],
    node_types: [["hidden", "object", "closure", "string"]] as [string[]],
    edge_fields: ["type", "name_or_index", "to_node"],
    edge_types: [["context", "element", "property", "internal", "hidden"]] as [string[]],
  };
  const strings = ["root", "Generator", "wait", "function", "abc"];
  const before = { snapshot: { meta }, nodes: [0, 0, 1, 10, 0], edges: [], strings };
  const after = {
    snapshot: { meta },
    // root; Generator with one internal edge "function" → the closure at node offset 15; closure `wait`; a string
    nodes: [0, 0, 1, 10, 0, 1, 1, 2, 40, 1, 2, 2, 3, 32, 0, 3, 4, 4, 100, 0],
    edges: [3, 3, 10],
    strings,
  };

  it("counts live bytes by kind and names the functions of suspended async frames", () => {
    const a = summarizeHeap(before);
    const b = summarizeHeap(after);
    expect(b.totalBytes).toBe(182);
    expect(b.byKind.get("object: Generator")).toEqual({ count: 1, bytes: 40 });
    expect(b.byKind.get("string: (string)")).toEqual({ count: 1, bytes: 100 });
    expect(b.suspendedAsync.get("wait")).toBe(1);
    const text = renderHeapDiff(a, b, 2);
    expect(text.split("\n")[0]).toBe("live heap 0.0 MB → 0.0 MB: +0.0 MB (86 B per unit)");
    expect(text).toContain("suspended async frames gained: wait ×1");
  });
});
