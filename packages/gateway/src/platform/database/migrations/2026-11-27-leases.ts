import { type Kysely, sql } from "kysely";

// Leadership: one lease row per job that must run in one process at a time (a chain's follower,
// the deadline settler, a chain's tx manager). It replaces tx_manager_leases (platform/lease.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table leases (
      name text primary key,
      holder text not null,
      until timestamptz not null,
      token bigint not null
    )`,
    `drop table tx_manager_leases`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
