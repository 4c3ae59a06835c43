import { performance } from "node:perf_hooks";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface StatementEntry {
  count: number;
  ms: number;
  /** The text as last sent, and the parameters of that call: what EXPLAIN is run on. */
  sql: string;
  params: unknown[];
}

export interface StatementLog {
  /** Every statement either driver ran, counted and timed from the call to its result. */
  totals: { count: number; ms: number };
  /** The same per statement text, whitespace collapsed. */
  byText: Map<string, StatementEntry>;
}

type Queryable = { query: (...args: any[]) => unknown };

/**
 * Wraps `query` of both drivers, for the whole process (BEGIN and COMMIT included: kysely sends
 * them through the same `query`). The bench runs no SQL of its own inside a measured window, so
 * the deltas over a window are the gateway's. Call once: a second wrap would count twice.
 */
export function instrumentStatements(): StatementLog {
  const log: StatementLog = { totals: { count: 0, ms: 0 }, byText: new Map() };
  const wrap = (proto: Queryable) => {
    const original = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const started = performance.now();
      const result = original.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === "function") {
        const done = () => {
          const ms = performance.now() - started;
          log.totals.count += 1;
          log.totals.ms += ms;
          const text = typeof args[0] === "string" ? args[0].replace(/\s+/g, " ").trim() : "?";
          const entry = log.byText.get(text) ?? { count: 0, ms: 0, sql: text, params: [] };
          entry.count += 1;
          entry.ms += ms;
          entry.sql = typeof args[0] === "string" ? args[0] : text;
          entry.params = Array.isArray(args[1]) ? args[1] : [];
          log.byText.set(text, entry);
        };
        (result as Promise<unknown>).then(done, done);
      }
      return result;
    };
  };
  wrap(PGlite.prototype as unknown as Queryable);
  wrap(pg.Client.prototype as unknown as Queryable);
  return log;
}
