import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.{ts,tsx}", "examples/*/src/**/*.test.{ts,tsx}"],
    // Integration tests start anvil and databases; on a 2-core machine they need headroom.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The gateway serves the checkout page (packages/web/dist) and Studio (packages/studio/dist):
    // each (re)built when stale.
    globalSetup: ["packages/web/scripts/build.mjs", "packages/studio/scripts/build.mjs"],
  },
});
