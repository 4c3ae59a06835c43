import { type Kysely, sql } from "kysely";
import type { Database } from "../platform/database/schema.ts";

// Queries of stored state shared by /metrics' gauges (collectors.ts) and the operator's health
// page (admin/operator-health.ts), so both report the same numbers the same way.

/** Callback events due for delivery now, and how long the oldest has been due. */
export async function readCallbacksDue(db: Kysely<Database>, at: Date) {
  const row = await db
    .selectFrom("callback_events")
    .select([
      (eb) => eb.fn.countAll<string>().as("n"),
      (eb) => eb.fn.min("next_attempt_at").as("oldest"),
    ])
    .where("state", "=", "pending")
    .where("next_attempt_at", "<=", at)
    .executeTakeFirstOrThrow();
  const oldest = row.oldest === null ? undefined : new Date(row.oldest as Date | string);
  return {
    count: Number(row.n),
    oldest,
    ageSeconds: oldest ? Math.max(0, (at.getTime() - oldest.getTime()) / 1000) : 0,
  };
}

/**
 * Outgoing transactions signed or broadcast and not yet mined, per chain, and how many are stuck:
 * broadcast and not mined `replaceAfterBlocks` blocks later (against the processed block), or
 * refused by the node and not sent.
 */
export async function readOutgoingTxs(db: Kysely<Database>, replaceAfterBlocks: number) {
  const result = await sql<{ chain_id: string; pending: string; stuck: string }>`
    select t.chain_id, count(*) as pending,
      count(*) filter (
        where (t.state = 'broadcast' and t.broadcast_block <= h.head - ${replaceAfterBlocks})
          or (t.state = 'signed' and t.error_kind is not null)
      ) as stuck
    from chain_txs t
    left join (select chain_id, max(number) as head from chain_blocks group by chain_id) h
      on h.chain_id = t.chain_id
    where t.state in ('signed', 'broadcast')
    group by t.chain_id`.execute(db);
  return result.rows.map((r) => ({
    chain_id: r.chain_id,
    pending: Number(r.pending),
    stuck: Number(r.stuck),
  }));
}
