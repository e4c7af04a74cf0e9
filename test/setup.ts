import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { Agent, setGlobalDispatcher } from "undici";
import { assertNoLeaks, countGuardedResources, type ResourceCounts } from "./leak-guard.ts";

// fetch() keeps connections alive in a process-wide pool, which would look like a leak of whichever test opened them
// first. Tests talk to servers they start and stop themselves, so pooling buys nothing: one connection per request.
setGlobalDispatcher(new Agent({ pipelining: 0 }));

// Registered before the test file's own hooks, so (vitest runs "after" hooks in reverse) these run after the
// file's cleanup: a resource closed in the file's afterEach/afterAll is not a leak.
let fileBaseline: ResourceCounts = {};
let testBaseline: ResourceCounts = {};

beforeAll(() => {
  fileBaseline = countGuardedResources();
});

beforeEach(async () => {
  // Connections made in beforeAll (ioredis, BullMQ) open their sockets a tick later: let them, so they count as the
  // file's, not as this test's.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 1));
  testBaseline = countGuardedResources();
});

afterEach(async () => {
  await assertNoLeaks(`Test "${expect.getState().currentTestName ?? "?"}"`, testBaseline);
});

afterAll(async () => {
  await assertNoLeaks(`Test file ${expect.getState().testPath ?? "?"}`, fileBaseline);
});
