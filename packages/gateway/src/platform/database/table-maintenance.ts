import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import { createWorker, type Worker } from "../worker.ts";
import type { Database } from "./schema.ts";

// PGlite is one backend with no autovacuum launcher: without this, its tables are never
// analysed (the planner guesses their sizes: a list query on 100,000 intents may pick a plan made
// for an empty table) and their dead rows never reclaimed. This is autovacuum's own rule, run by
// the gateway over its schema's tables. PostgreSQL does it by itself and never runs this.

/** autovacuum's defaults: a table is analysed after 50 + 10 % of its rows changed... */
const ANALYZE_BASE = 50;
const ANALYZE_SCALE = 0.1;
/** ...and vacuumed after 50 + 20 % of them died. */
const VACUUM_BASE = 50;
const VACUUM_SCALE = 0.2;

export interface MaintenancePass {
  analyzed: string[];
  vacuumed: string[];
}

/** One pass: ANALYZE and VACUUM the tables of the current schema that autovacuum would. */
export async function maintainTables(db: Kysely<Database>): Promise<MaintenancePass> {
  const { rows } = await sql<{
    schemaname: string;
    relname: string;
    analyze: boolean;
    vacuum: boolean;
  }>`
    select s.schemaname, s.relname,
      s.n_mod_since_analyze > ${ANALYZE_BASE} + ${ANALYZE_SCALE} * greatest(c.reltuples, 0) as analyze,
      s.n_dead_tup > ${VACUUM_BASE} + ${VACUUM_SCALE} * greatest(c.reltuples, 0) as vacuum
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.schemaname = current_schema()
    order by s.relname`.execute(db);
  const done: MaintenancePass = { analyzed: [], vacuumed: [] };
  for (const r of rows) {
    const table = sql.id(r.schemaname, r.relname);
    // VACUUM also analyses when asked to; each is its own statement, outside any transaction.
    if (r.vacuum) {
      await sql`vacuum (analyze ${sql.raw(r.analyze ? "true" : "false")}) ${table}`.execute(db);
      done.vacuumed.push(r.relname);
      if (r.analyze) done.analyzed.push(r.relname);
    } else if (r.analyze) {
      await sql`analyze ${table}`.execute(db);
      done.analyzed.push(r.relname);
    }
  }
  return done;
}

/** The pass every `intervalMs` (autovacuum's naptime is a minute), logged when it did something. */
export function createTableMaintenance(options: {
  db: Kysely<Database>;
  log: Logger;
  intervalMs: number;
}): Worker {
  return createWorker({
    name: "table maintenance",
    log: options.log,
    intervalMs: options.intervalMs,
    async run() {
      const started = performance.now();
      const done = await maintainTables(options.db);
      if (done.analyzed.length > 0 || done.vacuumed.length > 0)
        options.log.info(
          { ...done, ms: Math.round(performance.now() - started) },
          "tables analysed and vacuumed (PGlite has no autovacuum)",
        );
      return "idle";
    },
  });
}
