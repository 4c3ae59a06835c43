import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../platform/database/schema.ts";

const LEASE_MS = 30_000;

/**
 * One process follows a chain's transactions at a time, through a lease row rather than an
 * advisory lock: the work in between is RPC calls, and on PGlite a transaction held open across
 * them would block every other query. Renewed on every pass; taken over once it has run out.
 */
export function createChainLease(parameters: {
  db: Kysely<Database>;
  now: () => Date;
  leaseMs?: number;
}) {
  const { db, now } = parameters;
  const leaseMs = parameters.leaseMs ?? LEASE_MS;
  const holder = randomBytes(8).toString("hex");

  return {
    /** Takes or renews the chain's lease; false while another process holds it. */
    async hold(chainKey: string): Promise<boolean> {
      const at = now();
      const until = new Date(at.getTime() + leaseMs);
      await db
        .insertInto("tx_manager_leases")
        .values({ chain_id: chainKey, holder, until })
        .onConflict((oc) =>
          oc
            .column("chain_id")
            .doUpdateSet({ holder, until })
            .where((eb) =>
              eb.or([
                eb("tx_manager_leases.holder", "=", holder),
                eb("tx_manager_leases.until", "<", at),
              ]),
            ),
        )
        .execute();
      const lease = await db
        .selectFrom("tx_manager_leases")
        .select("holder")
        .where("chain_id", "=", chainKey)
        .executeTakeFirst();
      return lease?.holder === holder;
    },
    /** Gives up every lease of this process, so another may take over at once. */
    async release(): Promise<void> {
      await db.deleteFrom("tx_manager_leases").where("holder", "=", holder).execute();
    },
  };
}

export type ChainLease = ReturnType<typeof createChainLease>;
