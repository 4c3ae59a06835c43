import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../platform/database/schema.ts";
import type { AddressBook } from "./address-book.ts";
import { recordChainTx, recordPayments, recordWalletDeposits } from "./money-events.ts";

/**
 * Writes the entries of money events recorded before the ledger existed (a gateway upgraded to
 * it): confirmed payments and the gateway's confirmed or reverted transactions that have no entry
 * yet. Entries are keyed by their event, so running it twice, or in two processes at once,
 * writes each once. Once it has run, `ledger_backfill.done_at` says so and later starts skip it.
 */
export async function backfillLedger(options: {
  db: Kysely<Database>;
  book: AddressBook;
  log: Logger;
}): Promise<void> {
  const { db, book, log } = options;
  const state = await db.selectFrom("ledger_backfill").select("done_at").executeTakeFirst();
  if (!state || state.done_at !== null) return;
  let payments = 0;
  let transactions = 0;
  await db.transaction().execute(async (trx) => {
    const transfers = await trx
      .selectFrom("transfers")
      .select(["chain_id", "payment_intent_id", "tx_hash", "log_index", "token_address"])
      .select(["from_address", "to_address", "amount", "block_number", "block_hash"])
      .where("state", "=", "confirmed")
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("ledger_entries").where(
              "ledger_entries.ref",
              "=",
              sql<string>`'payment:' || transfers.chain_id || ':' || lower(transfers.tx_hash) || ':' || transfers.log_index || ':' || lower(transfers.block_hash)`,
            ),
          ),
        ),
      )
      .execute();
    for (const [chainKey, rows] of byChain(transfers)) await recordPayments(trx, chainKey, rows);
    payments = transfers.length;

    const deposits = await trx
      .selectFrom("wallet_deposits")
      .selectAll()
      .where("state", "=", "confirmed")
      .execute();
    const owners = await book.wallets(trx);
    for (const [chainKey, rows] of byChain(deposits))
      await recordWalletDeposits(trx, chainKey, rows, owners);

    const txs = await trx
      .selectFrom("chain_txs")
      .selectAll()
      .where("state", "in", ["confirmed", "failed"])
      .where("block_number", "is not", null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("ledger_entries").where(
              "ledger_entries.ref",
              "=",
              sql<string>`'chain-tx:' || chain_txs.id`,
            ),
          ),
        ),
      )
      .orderBy("id")
      .execute();
    for (const row of txs) await recordChainTx(trx, row, book);
    transactions = txs.length;
    await trx.updateTable("ledger_backfill").set({ done_at: new Date() }).execute();
  });
  if (payments + transactions > 0)
    log.info({ payments, transactions }, "ledger: entries written for earlier money events");
}

function byChain<T extends { chain_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) groups.set(row.chain_id, [...(groups.get(row.chain_id) ?? []), row]);
  return groups;
}
