import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.{ts,tsx}", "examples/*/src/**/*.test.{ts,tsx}"],
    // Integration tests start anvil and databases; on a 2-core machine they need headroom.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Vitest's default is one file at a time on a 2-core machine (cores - 1); these files mostly
    // wait on anvil, the database and the browser, so two at once nearly halve the suite
    // (docs/decisions.md, "studio — the suite's time").
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The gateway serves the checkout page (packages/web/dist) and Studio (packages/studio/dist):
    // each (re)built when stale.
    globalSetup: ["packages/web/scripts/build.mjs", "packages/studio/scripts/build.mjs"],
  },
});
