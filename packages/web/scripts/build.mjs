// Builds the checkout page into packages/web/dist when it is missing or older than its sources.
// One function for every path that needs the page: `npm start` and `npm install` (prepare) run
// this file, vitest runs it as a globalSetup, and `npm run build -w @stablegate/web` forces it.
//
// Several builds may start at once (two test runs, an install beside a test run), and a gateway
// may be serving the page meanwhile. So a build holds a lock directory, writes into a fresh
// folder and swaps it in with renames: a reader sees the old page or the new one, never half.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));
const DIST_DIR = join(WEB_DIR, "dist");
const LOCK_DIR = join(WEB_DIR, ".build-lock");
const SOURCES = ["src", "index.html", "vite.config.ts", "package.json", "scripts/build.mjs"];
const LOCK_WAIT_MS = 120_000;
// A lock older than this belongs to a build that died (killed test run); take it over.
const LOCK_STALE_MS = 90_000;

function newestSourceMtime(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    newest = Math.max(newest, newestSourceMtime(join(path, entry)));
  }
  return newest;
}

/** True when dist/index.html is missing or older than any source file. */
export function isCheckoutStale() {
  let built;
  try {
    built = statSync(join(DIST_DIR, "index.html")).mtimeMs;
  } catch {
    return true;
  }
  const newest = Math.max(...SOURCES.map((s) => newestSourceMtime(join(WEB_DIR, s))));
  return newest > built;
}

async function withLock(fn) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(LOCK_DIR).mtimeMs;
      } catch {
        continue;
      }
      if (age > LOCK_STALE_MS) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/**
 * Builds the page unless it is up to date (or always, with `force`).
 * @returns whether a build ran
 */
export async function ensureCheckoutBuilt({ force = false, quiet = false } = {}) {
  if (!force && !isCheckoutStale()) return false;
  return withLock(async () => {
    // Another process may have built it while this one waited for the lock.
    if (!force && !isCheckoutStale()) return false;
    const started = Date.now();
    const { build } = await import("vite");
    const staging = join(WEB_DIR, `dist-${process.pid}-${Date.now()}`);
    try {
      await build({
        root: WEB_DIR,
        configFile: join(WEB_DIR, "vite.config.ts"),
        logLevel: "warn",
        build: { outDir: staging, emptyOutDir: true },
      });
      const old = join(WEB_DIR, `dist-old-${process.pid}-${Date.now()}`);
      let hadOld = true;
      try {
        renameSync(DIST_DIR, old);
      } catch (err) {
        if (err.code !== "ENOENT") throw err;
        hadOld = false;
      }
      renameSync(staging, DIST_DIR);
      if (hadOld) rmSync(old, { recursive: true, force: true });
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    if (!quiet) {
      console.log(`checkout page built into ${DIST_DIR} in ${Date.now() - started} ms`);
    }
    return true;
  });
}

/** vitest globalSetup: the gateway's page tests need the built page. */
export default async function setup() {
  await ensureCheckoutBuilt({ quiet: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await ensureCheckoutBuilt({ force: process.argv.includes("--force") });
}
