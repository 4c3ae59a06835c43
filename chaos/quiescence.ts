import type { ChaosDatabase } from "./database.ts";
import type { Receiver } from "./receiver.ts";

/** What is still to happen, by kind; all zero is quiescence. */
export type Outstanding = Record<string, number>;

export async function outstanding(db: ChaosDatabase, receiver: Receiver): Promise<Outstanding> {
  const [row] = await db.query<Record<string, string>>(`select
    (select count(*) from payment_intents where status = 'pending') as pending_intents,
    (select count(*) from payment_intents where status = 'insufficient_not_refunded') as unrefunded,
    (select count(*) from payment_intents where status = 'success' and aggregated_amount is null) as uncollected,
    (select count(*) from payment_intents where late_amount is not null
        and late_refund_amount is distinct from late_amount) as late_unrefunded,
    (select count(*) from refunds where state in ('pending', 'submitted')) as refunds,
    (select count(*) from collections where state in ('waiting_treasury', 'pending', 'submitted')) as collections,
    (select count(*) from chain_txs where state in ('signed', 'broadcast', 'mined')) as chain_txs,
    (select count(*) from payouts p join chain_txs t on t.id = p.chain_tx_id where t.state <> 'confirmed') as payouts,
    (select count(*) from payouts where chain_tx_id is null) as payouts_unsent,
    (select count(*) from callback_events where state = 'pending') as callbacks,
    (select count(*) from treasury_work) as treasury_work`);
  const out: Outstanding = {};
  for (const [k, v] of Object.entries(row ?? {})) out[k] = Number(v);
  out.receiver_in_flight = receiver.inFlight();
  return out;
}

/**
 * Polls until nothing is outstanding, printing what is left every so often; throws with the
 * last counts when `timeoutMs` runs out.
 */
export async function waitQuiescent(
  db: ChaosDatabase,
  receiver: Receiver,
  timeoutMs: number,
  print: (line: string) => void,
): Promise<number> {
  const started = Date.now();
  let lastPrint = 0;
  for (;;) {
    const left = await outstanding(db, receiver);
    const busy = Object.entries(left).filter(([, n]) => n > 0);
    if (busy.length === 0) return Date.now() - started;
    const describe = busy.map(([k, n]) => `${k} ${n}`).join(", ");
    if (Date.now() - started > timeoutMs) {
      throw new Error(`not quiescent after ${Math.round(timeoutMs / 1000)} s: ${describe}`);
    }
    if (Date.now() - lastPrint > 10_000) {
      print(`waiting for quiescence: ${describe}`);
      lastPrint = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
