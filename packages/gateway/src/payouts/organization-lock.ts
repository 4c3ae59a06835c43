import { sql, type Transaction } from "kysely";
import type { Database } from "../platform/database/schema.ts";

/** Namespace of the per-organisation advisory lock (pg_advisory_xact_lock(ns, org_id)). */
const LOCK_NAMESPACE = 0x7061_796f; // "payo"

/** Runs callbacks one at a time per key, in arrival order, within this process. */
function createKeyedMutex() {
  const tails = new Map<number, Promise<unknown>>();
  return async <T>(key: number, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

/**
 * One organisation's transfer checks and reservations in turn (docs/decisions.md, "transfers").
 * In this process, a FIFO queue per organisation, taken before any database connection, so
 * waiting requests do not each hold a pooled connection; across processes (PostgreSQL), the
 * advisory lock that `lockInTransaction` takes inside the reserving transaction.
 */
export function createOrganizationLock() {
  return {
    runExclusive: createKeyedMutex(),
    async lockInTransaction(trx: Transaction<Database>, orgId: number): Promise<void> {
      await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${orgId})`.execute(trx);
    },
  };
}

export type OrganizationLock = ReturnType<typeof createOrganizationLock>;
