import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Real nats-servers and child processes: forks isolate them, two at a time fits 2 cores.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Fault tests never retry silently: a flaky test is a bug to fix.
    retry: 0,
  },
});
