import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Kysely, sql } from "kysely";
import {
  createDatabase,
  type DatabaseHandle,
} from "../packages/gateway/src/platform/database/create-database.ts";
import { dropSchema } from "../packages/gateway/src/testing/test-database.ts";
import type { AddCleanup } from "./run-with-cleanups.ts";

export interface BenchDatabase {
  database: DatabaseHandle;
  /** Untyped: the benchmarks run SQL of their own on tables the gateway's types do not know. */
  db: Kysely<unknown>;
  /** A temp dir removed at the end: the gateway's DATA_DIR, and PGlite's data on PGlite. */
  dataDir: string;
  /** For the report: engine, server version, where the data lives. */
  label: string;
  /** On PostgreSQL with `namePool`: the server, and the application_name of the pool's backends. */
  server: { url: string; appName: string } | undefined;
}

/**
 * The database a benchmark runs on: a fresh schema `bench_<random>` on PostgreSQL when `url` is
 * set, else PGlite on disk in a temp dir; migrated, and removed again by the registered cleanups.
 */
export async function openBenchDatabase(
  url: string | undefined,
  addCleanup: AddCleanup,
  options: { namePool?: boolean } = {},
): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "stablegate-bench-"));
  addCleanup("remove temp dir", () => rm(dataDir, { recursive: true, force: true }));
  let database: DatabaseHandle;
  let where: string;
  let server: BenchDatabase["server"];
  if (url) {
    const schema = `bench_${randomBytes(4).toString("hex")}`;
    where = `schema ${schema}, dropped at the end`;
    // Registered before the schema exists: a failed migration must not leave it behind.
    addCleanup(`drop schema ${schema}`, () => dropSchema(url, schema));
    if (options.namePool) {
      // A name of its own, so the gateway pool's backends can be found for their CPU time.
      const appName = `stablegate_${schema}`;
      const poolUrl = new URL(url);
      poolUrl.searchParams.set("application_name", appName);
      database = await createDatabase({ url: poolUrl.toString(), schema });
      server = { url, appName };
    } else {
      database = await createDatabase({ url, schema });
    }
  } else {
    where = `data dir ${dataDir}, removed at the end`;
    database = await createDatabase({ dataDir: path.join(dataDir, "pglite") });
  }
  addCleanup("close database", () => database.close());
  const db = database.db as unknown as Kysely<unknown>;
  const { rows } = await sql<{ v: string }>`select version() as v`.execute(db);
  const serverVersion = rows[0]?.v.split(" on ")[0] ?? "?";
  const label =
    database.kind === "postgres"
      ? `PostgreSQL (${serverVersion}; ${where})`
      : `PGlite (${serverVersion}; on disk, ${where})`;
  return { database, db, dataDir, label, server };
}
