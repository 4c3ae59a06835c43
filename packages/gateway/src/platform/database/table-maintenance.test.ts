import { sql } from "kysely";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createTestDatabase } from "../../testing/test-database.ts";
import type { DatabaseHandle } from "./create-database.ts";
import { maintainTables } from "./table-maintenance.ts";

// What PGlite lacks and the gateway does for it: a table that changed is analysed (the planner
// learns its size) and one with many dead rows vacuumed, by autovacuum's rule. The probe table
// has autovacuum off, so on PostgreSQL too only the pass under test touches it.

let database: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

const stats = async () => {
  const { rows } = await sql<{
    n_mod_since_analyze: string;
    n_dead_tup: string;
    reltuples: number;
    analysed: boolean;
    vacuumed: boolean;
  }>`
    select s.n_mod_since_analyze, s.n_dead_tup, c.reltuples,
      s.last_analyze is not null as analysed, s.last_vacuum is not null as vacuumed
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.schemaname = current_schema() and s.relname = 'maintenance_probe'`.execute(database.db);
  return rows[0];
};

/** Waits until the server shows `changes` rows changed since the last ANALYZE. */
const counted = (changes: number) =>
  // A backend publishes its counts when it goes idle, at most once a second.
  vi.waitFor(
    async () => {
      const s = await stats();
      if (Number(s?.n_mod_since_analyze) < changes)
        throw new Error(`not counted yet: ${JSON.stringify(s)}`);
    },
    { timeout: 30_000, interval: 200 },
  );

it("analyses a table after 10 % of it changed and vacuums it after 20 % died, as autovacuum would", async () => {
  const { db } = database;
  await sql`create table maintenance_probe (id serial primary key, v text)
    with (autovacuum_enabled = false)`.execute(db);
  await sql`insert into maintenance_probe (v) select 'x' from generate_series(1, 1000)`.execute(db);
  await sql`delete from maintenance_probe where id <= 400`.execute(db);
  await counted(1400);
  expect(await stats()).toMatchObject({ analysed: false, vacuumed: false });

  const pass = await maintainTables(db);
  expect(pass.analyzed).toContain("maintenance_probe");
  expect(pass.vacuumed).toContain("maintenance_probe");
  expect(await stats()).toMatchObject({ analysed: true, vacuumed: true, reltuples: 600 });

  // Nothing changed since: the next pass does not analyse it again. It vacuums it again only if
  // the deleted rows are still dead: on a shared PostgreSQL server another session's open
  // snapshot can keep VACUUM from removing them, and autovacuum's rule then comes back too.
  // PGlite has no other session, so there they are always gone.
  const stillDead = Number((await stats())?.n_dead_tup);
  if (database.kind === "pglite") expect(stillDead).toBe(0);
  const again = await maintainTables(db);
  expect(again.analyzed).not.toContain("maintenance_probe");
  if (stillDead > 50 + 0.2 * 600) expect(again.vacuumed).toContain("maintenance_probe");
  else expect(again.vacuumed).not.toContain("maintenance_probe");
  // A few changes are below the threshold (50 + 10 % of 600).
  await sql`update maintenance_probe set v = 'y' where id <= 450`.execute(db);
  await counted(50);
  expect((await maintainTables(db)).analyzed).not.toContain("maintenance_probe");
});
