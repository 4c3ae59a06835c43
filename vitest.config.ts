import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.{ts,tsx}", "examples/*/src/**/*.test.{ts,tsx}"],
    // Integration tests start anvil, databases and browsers. Waits in tests are on the event
    // itself, with bounds that only catch a hang: CI runs two files at once on 2 shared cores,
    // sometimes beside a CPU hog, where a step that takes 1 s idle can take 20 (docs/decisions.md,
    // "proof — the suite's time on a busy machine").
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // expect.poll waits for an event like every other wait: its 1 s default is a timing
    // assertion on a loaded machine (a Studio page's first rows took longer under stress-ng).
    expect: { poll: { timeout: 60_000, interval: 100 } },
    // Vitest's default is one file at a time on a 2-core machine (cores - 1); these files mostly
    // wait on anvil, the database and the browser, so two at once nearly halve the suite
    // (docs/decisions.md, "studio — the suite's time").
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // One worker process runs file after file with the modules it has loaded: importing the
    // gateway (viem, hono, zod, kysely, PGlite) anew for each file cost ~3 s of CPU per file.
    // The files share no state through modules: each builds its own database, gateway and chain.
    isolate: false,
    // The gateway serves the checkout page (packages/web/dist) and Studio (packages/studio/dist):
    // each (re)built when stale. Tests' PGlite databases load one migrated dump, built once.
    globalSetup: [
      "packages/web/scripts/build.mjs",
      "packages/studio/scripts/build.mjs",
      "packages/gateway/src/testing/pglite-template.ts",
    ],
  },
});
