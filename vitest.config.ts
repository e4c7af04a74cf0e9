import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{api,worker,shared,akash-sim,bench,scripts}/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/fixtures/**"],
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/setup.ts"],
    // Each file in its own child process: the leak guard counts that process's handles, and tests that spawn
    // workers or kill processes cannot disturb each other.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 15_000,
  },
});
