// Builds a Vite page (the checkout in packages/web, Studio in packages/studio) into its dist/
// when it is missing or older than its sources. One function for every path that needs a page:
// `npm start` and `npm install` (prepare) run the packages' scripts/build.mjs, vitest runs them
// as globalSetup, and `npm run build -w <package>` forces a build.
//
// Several builds may start at once (two test runs, an install beside a test run), and a gateway
// may be serving the page meanwhile. So a build holds a lock directory, writes into a fresh
// folder and swaps it in with renames: a reader sees the old page or the new one, never half.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const SOURCES = ["src", "index.html", "vite.config.ts", "package.json", "scripts/build.mjs"];
// This file is a source of every page too: a change here rebuilds them all.
const SHARED_SOURCE = new URL(import.meta.url).pathname;
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

/** True when `<dir>/dist/index.html` is missing or older than any source file. */
export function isPageStale(dir) {
  let built;
  try {
    built = statSync(join(dir, "dist", "index.html")).mtimeMs;
  } catch {
    return true;
  }
  const newest = Math.max(
    newestSourceMtime(SHARED_SOURCE),
    ...SOURCES.map((s) => newestSourceMtime(join(dir, s))),
  );
  return newest > built;
}

async function withLock(lockDir, fn) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(lockDir).mtimeMs;
      } catch {
        continue;
      }
      if (age > LOCK_STALE_MS) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Builds the page in `dir` (a package with vite.config.ts) unless it is up to date (or always,
 * with `force`).
 * @param {string} dir the package's folder
 * @param {{ label: string, force?: boolean, quiet?: boolean }} options
 * @returns whether a build ran
 */
export async function ensurePageBuilt(dir, { label, force = false, quiet = false }) {
  if (!force && !isPageStale(dir)) return false;
  const distDir = join(dir, "dist");
  return withLock(join(dir, ".build-lock"), async () => {
    // Another process may have built it while this one waited for the lock.
    if (!force && !isPageStale(dir)) return false;
    const started = Date.now();
    const { build } = await import("vite");
    const staging = join(dir, `dist-${process.pid}-${Date.now()}`);
    try {
      await build({
        root: dir,
        configFile: join(dir, "vite.config.ts"),
        logLevel: "warn",
        build: { outDir: staging, emptyOutDir: true },
      });
      const old = join(dir, `dist-old-${process.pid}-${Date.now()}`);
      let hadOld = true;
      try {
        renameSync(distDir, old);
      } catch (err) {
        if (err.code !== "ENOENT") throw err;
        hadOld = false;
      }
      renameSync(staging, distDir);
      if (hadOld) rmSync(old, { recursive: true, force: true });
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    if (!quiet) console.log(`${label} built into ${distDir} in ${Date.now() - started} ms`);
    return true;
  });
}
