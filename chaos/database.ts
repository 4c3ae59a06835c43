import { randomBytes } from "node:crypto";
import pg from "pg";
import type { AddCleanup } from "../bench/run-with-cleanups.ts";
import { runAdminStatement } from "../packages/gateway/src/testing/scratch-postgres.ts";

export interface ChaosDatabase {
  url: string;
  name: string;
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/**
 * A database of its own on the PostgreSQL server (three processes share it: PGlite is one
 * process's), dropped at the end unless `keep`.
 */
export async function createChaosDatabase(
  baseUrl: string,
  keep: boolean,
  addCleanup: AddCleanup,
): Promise<ChaosDatabase> {
  const name = `sg_chaos_${randomBytes(4).toString("hex")}`;
  await runAdminStatement(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  addCleanup(keep ? `keep database ${name}` : `drop database ${name}`, async () => {
    await pool.end();
    // FORCE: a gateway killed with -9 may leave a connection behind for a moment.
    if (!keep) await runAdminStatement(baseUrl, `drop database if exists ${name} with (force)`);
  });
  return {
    url: url.toString(),
    name,
    async query(text, params = []) {
      return (await pool.query(text, params)).rows;
    },
  };
}
