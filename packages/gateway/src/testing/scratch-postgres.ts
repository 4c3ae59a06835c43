import { randomBytes } from "node:crypto";
import pg from "pg";

export interface ScratchDatabase {
  /** A postgres:// URL for a child process, or undefined to let it use PGlite in DATA_DIR. */
  url: string | undefined;
  drop(): Promise<void>;
}

/**
 * A database of its own for a child process (the CLI has no schema setting, so a per-file
 * schema as in test-database.ts cannot reach it): when DATABASE_URL is set, a fresh database
 * on that server, dropped again by drop(); otherwise nothing, and the child runs on PGlite.
 */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, async drop() {} };
  const name = `sg_cli_${process.pid}_${randomBytes(4).toString("hex")}`;
  await runAdminStatement(base, `create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      // FORCE: a child killed mid-test may leave a connection behind.
      await runAdminStatement(base, `drop database if exists ${name} with (force)`);
    },
  };
}

/** Runs one statement on its own connection (create or drop a database: no pool may hold it). */
export async function runAdminStatement(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
