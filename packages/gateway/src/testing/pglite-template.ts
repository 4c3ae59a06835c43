import { createHash, randomBytes } from "node:crypto";
import { access, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { createDatabase } from "../platform/database/create-database.ts";

// Creating an in-memory PGlite (initdb) and running the migrations costs 3–5 s of CPU, 20 s and
// more on a loaded 2-core machine; most test files need one, several need a few. A dump of one
// migrated database, loaded by every test database, costs a fraction of that (docs/decisions.md,
// "proof — the suite's time on a busy machine").

const MIGRATIONS_DIR = fileURLToPath(new URL("../platform/database/migrations/", import.meta.url));
const PREFIX = "stablegate-test-pglite-";

/**
 * Where the dump lives: named after the migrations' sources and PGlite's version, so a new or
 * changed migration (or another PGlite) makes a new dump rather than loading a stale one.
 */
async function templateFile(): Promise<string> {
  const hash = createHash("sha256");
  // Its package.json is not exported: found beside the resolved entry point (dist/).
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  hash.update(await readFile(path.join(path.dirname(entry), "..", "package.json")));
  for (const name of (await readdir(MIGRATIONS_DIR)).sort()) {
    hash.update(`${name}\n`);
    hash.update(await readFile(path.join(MIGRATIONS_DIR, name)));
  }
  return path.join(tmpdir(), `${PREFIX}${hash.digest("hex").slice(0, 16)}.tar`);
}

/** Migrates a PGlite in a scratch directory and writes its dump to `file` (atomically). */
async function buildTemplate(file: string): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), `${PREFIX}build-`));
  try {
    const dataDir = path.join(scratch, "data");
    const migrated = await createDatabase({ dataDir });
    await migrated.close();
    const client = new PGlite({ dataDir, extensions: { pg_trgm } });
    await client.waitReady;
    const dump = await client.dumpDataDir("none");
    await client.close();
    // Two workers may build at once: each writes its own file, the rename is atomic.
    const partial = `${file}.${randomBytes(4).toString("hex")}.partial`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, file);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

let cached: Promise<string> | undefined;

/** The migrated PGlite's dump, built on first use (vitest's globalSetup builds it up front). */
export async function pgliteTemplate(): Promise<Blob> {
  cached ??= (async () => {
    const file = await templateFile();
    await access(file).catch(() => buildTemplate(file));
    return file;
  })();
  // Read whole, not as a file-backed Blob: a worker building the dump at the same moment
  // renames its own over this path, which a lazily read Blob would refuse.
  return new Blob([await readFile(await cached)]);
}

/** vitest globalSetup: build the dump once, before the workers start (not needed on PostgreSQL). */
export default async function setup(): Promise<void> {
  if (!process.env.DATABASE_URL) await pgliteTemplate();
}
