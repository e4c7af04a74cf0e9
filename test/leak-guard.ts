/**
 * Fails a test that leaves a socket or server open: an ioredis connection (and so a BullMQ Queue, Worker or
 * QueueEvents, which own them), a WebSocket, an HTTP server, a child process. It counts the process's live handles
 * by kind before and after each test (vitest runs each file in its own process and a file's tests one at a time),
 * giving closes a short grace period to finish.
 */
export const GUARDED_RESOURCES = ["TCPSocketWrap", "TCPServerWrap", "TLSWrap", "ProcessWrap", "PipeServerWrap"] as const;

export type ResourceCounts = Record<string, number>;

export function countGuardedResources(): ResourceCounts {
  const counts: ResourceCounts = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if ((GUARDED_RESOURCES as readonly string[]).includes(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

export function describeLeaks(before: ResourceCounts, after: ResourceCounts): string[] {
  const leaks: string[] = [];
  for (const kind of GUARDED_RESOURCES) {
    const extra = (after[kind] ?? 0) - (before[kind] ?? 0);
    if (extra > 0) leaks.push(`${extra} × ${kind}`);
  }
  return leaks;
}

export class LeakError extends Error {
  constructor(scope: string, leaks: string[]) {
    super(
      `${scope} leaked ${leaks.join(", ")}: close every Queue, Worker, QueueEvents, Redis connection, WebSocket, ` +
        "server and child process it opened (in the test or its afterEach/afterAll).",
    );
    this.name = "LeakError";
  }
}

/** Resolves when the counts are back to `before`, or throws a LeakError after `graceMs`. */
export async function assertNoLeaks(scope: string, before: ResourceCounts, graceMs = 1_000): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const leaks = describeLeaks(before, countGuardedResources());
    if (leaks.length === 0) return;
    if (Date.now() >= deadline) throw new LeakError(scope, leaks);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
