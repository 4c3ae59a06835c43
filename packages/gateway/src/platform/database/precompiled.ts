import { CompiledQuery, type Kysely } from "kysely";
import { prepareStatement } from "./prepared-statements.ts";

/** A query compiled once; run() sends it with the run's values in the places of its arguments. */
export interface Precompiled<DB, Args extends Record<string, unknown>, Row> {
  run(executor: Kysely<DB>, args: Args): Promise<Row[]>;
}

/**
 * Builds and compiles a query once, with a marker in the place of each argument it reads; each
 * run sends that SQL with the run's values where the markers were. For the hottest paths (create
 * and get), where building and compiling the same query on every request cost a tenth of their
 * CPU (npm run bench). Only for queries whose shape does not depend on the values: every argument
 * read must end up as whole parameters (`where("id", "=", args.id)`, an inserted value), which is
 * checked here. The connection has no Kysely plugins, so the compiled SQL is all a query is.
 * On PostgreSQL it is sent as a named prepared statement (prepared-statements.ts).
 */
export function precompile<DB, Args extends Record<string, unknown>, Row>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, args: Args) => CompiledQuery<Row>,
): Precompiled<DB, Args, Row> {
  const names: string[] = [];
  const markerOf = (name: string) => `\u0000precompiled:${name}\u0000`;
  const markers = new Proxy({} as Args, {
    get(_target, name) {
      if (typeof name !== "string") return undefined;
      if (!names.includes(name)) names.push(name);
      return markerOf(name);
    },
  });
  const template = build(db, markers);
  // For each parameter: the argument it takes, or undefined for a constant of the query.
  const slots = template.parameters.map((p) => names.find((name) => markerOf(name) === p));
  for (const name of names) {
    const marker = markerOf(name);
    const inside = template.parameters.some(
      (p) => typeof p === "string" && p !== marker && p.includes(marker),
    );
    if (inside || !slots.includes(name)) {
      throw new Error(`precompile: ${name} is not a whole parameter of ${template.sql}`);
    }
  }
  prepareStatement(template.sql);
  return {
    async run(executor, args) {
      const parameters = template.parameters.map((p, i) => {
        const name = slots[i];
        return name === undefined ? p : args[name];
      });
      const result = await executor.executeQuery<Row>(CompiledQuery.raw(template.sql, parameters));
      return result.rows;
    },
  };
}
