// Builds Studio into packages/studio/dist when it is missing or older than its sources
// (scripts/build-page.mjs, shared with the checkout). Run by `npm start`, `npm install`
// (prepare) and vitest (globalSetup); `npm run build -w @stablegate/studio` forces it.
import { fileURLToPath } from "node:url";
import { ensurePageBuilt } from "../../../scripts/build-page.mjs";

const STUDIO_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * Builds Studio unless it is up to date (or always, with `force`).
 * @returns whether a build ran
 */
export function ensureStudioBuilt({ force = false, quiet = false } = {}) {
  return ensurePageBuilt(STUDIO_DIR, { label: "Studio", force, quiet });
}

/** vitest globalSetup: Studio's browser tests need the built app. */
export default async function setup() {
  await ensureStudioBuilt({ quiet: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await ensureStudioBuilt({ force: process.argv.includes("--force") });
}
