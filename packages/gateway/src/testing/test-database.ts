import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDatabase, type DatabaseHandle } from "../platform/database/create-database.ts";
import { pgliteTemplate } from "./pglite-template.ts";

/**
 * A database of its own for one test file: a fresh in-memory PGlite, or, when DATABASE_URL is
 * set, a fresh schema on that server (dropped again on close), so parallel runs never collide.
 * The PGlite starts from a migrated dump (pglite-template.ts); its migrations run all the same
 * and find nothing to do.
 */
export async function createTestDatabase(): Promise<DatabaseHandle> {
  const url = process.env.DATABASE_URL;
  if (!url) return createDatabase({ template: await pgliteTemplate() });
  const schema = `t_${process.pid}_${randomBytes(4).toString("hex")}`;
  const handle = await createDatabase({ url, schema, poolSize: 20 });
  return {
    ...handle,
    async close() {
      await handle.close();
      await dropSchema(url, schema);
    },
  };
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await admin.end();
  }
}
