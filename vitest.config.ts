import { availableParallelism } from "node:os";
import { defaultServerConditions } from "vite";
import { configDefaults, defineConfig } from "vitest/config";
import { react18Aliases } from "./packages/react-18/aliases.ts";

// What every project shares.
const shared = {
  // Integration tests start anvil, databases and browsers. Waits in tests are on the event
  // itself, with bounds that only catch a hang: CI runs two files at once on 2 shared cores,
  // sometimes beside a CPU hog, where a step that takes 1 s idle can take 20 (docs/decisions.md,
  // "proof — the suite's time on a busy machine").
  testTimeout: 120_000,
  hookTimeout: 180_000,
  // expect.poll waits for an event like every other wait: its 1 s default is a timing
  // assertion on a loaded machine (a Studio page's first rows took longer under stress-ng).
  expect: { poll: { timeout: 60_000, interval: 100 } },
  // One worker process runs file after file with the modules it has loaded: importing the
  // gateway (viem, hono, zod, kysely, PGlite) anew for each file cost ~3 s of CPU per file.
  // The files share no state through modules: each builds its own database, gateway and chain.
  isolate: false,
};

// A test importing "@stablegate/sdk" or "@stablegate/react" by name gets the package's sources
// (its "@stablegate/source" export condition), never a stale or missing dist/.
const sourceConditions = ["@stablegate/source", ...defaultServerConditions];

export default defineConfig({
  test: {
    // Vitest's default is one file at a time on a 2-core machine (cores - 1); these files mostly
    // wait on anvil, the database and the browser, so two at once nearly halve the suite
    // (docs/decisions.md, "studio — the suite's time").
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        ssr: { resolve: { conditions: sourceConditions } },
        test: {
          ...shared,
          name: "stablegate",
          include: ["packages/*/src/**/*.test.{ts,tsx}", "examples/*/src/**/*.test.{ts,tsx}"],
          // The packed-tarball test uses no database, and `npm pack` rebuilds packages/sdk/dist
          // and packages/react/dist in place: run on PGlite only, it cannot race the same test
          // of the PostgreSQL run (.ci/run runs both at once).
          exclude: [
            ...configDefaults.exclude,
            ...(process.env.DATABASE_URL ? ["packages/sdk/src/packed.test.ts"] : []),
          ],
          provide: { reactMajor: 19 },
          // The gateway serves the checkout page (packages/web/dist) and Studio
          // (packages/studio/dist): each (re)built when stale. Tests' PGlite databases load one
          // migrated dump, built once.
          globalSetup: [
            "packages/web/scripts/build.mjs",
            "packages/studio/scripts/build.mjs",
            "packages/gateway/src/testing/pglite-template.ts",
          ],
        },
      },
      {
        // The React SDK's tests again on React 18 (packages/react-18): the package promises
        // React 18 and 19. The example shop's browser test builds the shop with each itself.
        ssr: { resolve: { conditions: sourceConditions } },
        resolve: { alias: react18Aliases() },
        test: {
          ...shared,
          name: "react-18",
          include: ["packages/react/src/**/*.test.{ts,tsx}"],
          provide: { reactMajor: 18 },
        },
      },
    ],
  },
});
