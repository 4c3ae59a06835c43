import { Mutex } from "async-mutex";
import { sql, type Transaction } from "kysely";
import type { Database } from "../platform/database/schema.ts";

/** Namespace of the per-organisation advisory lock (pg_advisory_xact_lock(ns, org_id)). */
const LOCK_NAMESPACE = 0x7061_796f; // "payo"

/**
 * One organisation's transfer checks and reservations in turn (docs/decisions.md, "transfers").
 * In this process, a FIFO queue per organisation, taken before any database connection, so
 * waiting requests do not each hold a pooled connection; across processes (PostgreSQL), the
 * advisory lock that `lockInTransaction` takes inside the reserving transaction.
 */
export function createOrganizationLock() {
  const mutexes = new Map<number, Mutex>();
  return {
    async runExclusive<T>(orgId: number, fn: () => Promise<T>): Promise<T> {
      let mutex = mutexes.get(orgId);
      if (!mutex) {
        mutex = new Mutex();
        mutexes.set(orgId, mutex);
      }
      try {
        return await mutex.runExclusive(fn);
      } finally {
        // Unlocked means no holder and no waiter (a release hands the lock straight to the next
        // waiter), so the entry can go; the identity check keeps a newer mutex for this org.
        if (!mutex.isLocked() && mutexes.get(orgId) === mutex) mutexes.delete(orgId);
      }
    },
    async lockInTransaction(trx: Transaction<Database>, orgId: number): Promise<void> {
      await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${orgId})`.execute(trx);
    },
  };
}

export type OrganizationLock = ReturnType<typeof createOrganizationLock>;
