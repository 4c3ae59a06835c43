// Builds the checkout page into packages/web/dist when it is missing or older than its sources
// (scripts/build-page.mjs, shared with Studio). Run by `npm start`, `npm install` (prepare) and
// vitest (globalSetup); `npm run build -w @stablegate/web` forces it.
import { fileURLToPath } from "node:url";
import { ensurePageBuilt, isPageStale } from "../../../scripts/build-page.mjs";

const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));

/** True when dist/index.html is missing or older than any source file. */
export function isCheckoutStale() {
  return isPageStale(WEB_DIR);
}

/**
 * Builds the page unless it is up to date (or always, with `force`).
 * @returns whether a build ran
 */
export function ensureCheckoutBuilt({ force = false, quiet = false } = {}) {
  return ensurePageBuilt(WEB_DIR, { label: "checkout page", force, quiet });
}

/** vitest globalSetup: the gateway's page tests need the built page. */
export default async function setup() {
  await ensureCheckoutBuilt({ quiet: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await ensureCheckoutBuilt({ force: process.argv.includes("--force") });
}
