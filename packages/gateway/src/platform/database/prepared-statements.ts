import { createHash } from "node:crypto";
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";

// The hot paths' statements (precompiled.ts) as named prepared statements on PostgreSQL: each
// connection parses and plans one once, and afterwards sends only its values. Sent unnamed, the
// API's get carried its 30 column names to the server on every request, which parsed and planned
// it again each time (docs/decisions.md, "prepared statements for the hot paths").
//
// A statement's text names its columns, never `*`: a migration that adds a column while another
// process holds the statement prepared leaves its result type as it was, and the server
// re-plans it by itself.

const names = new Map<string, string>();

/** Sends `sql` as a named prepared statement from now on (PostgreSQL; PGlite runs it as is). */
export function prepareStatement(sql: string): void {
  if (!names.has(sql)) {
    names.set(sql, `sg_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`);
  }
}

/**
 * The pool Kysely's PostgresDialect is given: pg's own, with each client's query(sql, values)
 * sent by name where the SQL is a prepared one (pg keeps which names each connection has parsed).
 */
export function preparingPool(pool: pg.Pool): PostgresPool {
  // One wrapper per pg client: Kysely keeps its connection object per client it is handed.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    function query<R>(sql: string, values: readonly unknown[]): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query(
      sqlOrCursor: string | PostgresCursor<unknown>,
      values?: readonly unknown[],
    ): unknown {
      // Kysely's cursor is the pg-cursor it was configured with, which pg submits.
      if (typeof sqlOrCursor !== "string")
        return client.query(sqlOrCursor as unknown as pg.Submittable);
      // Kysely hands over a fresh array, which pg only reads.
      const name = names.get(sqlOrCursor);
      return name === undefined
        ? client.query(sqlOrCursor, values as unknown[])
        : client.query({ name, text: sqlOrCursor, values: values as unknown[] });
    }
    return { query, release: () => client.release() };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}
