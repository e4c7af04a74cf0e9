import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { assertNoLeaks, countGuardedResources, type ResourceCounts } from "./leak-guard.ts";

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
