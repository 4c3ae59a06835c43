import type { Transaction } from "kysely";
import type { TransferLog } from "../../chain/follower/types.ts";
import type { Database } from "../../platform/database/schema.ts";
import { appendStatusHistory } from "./status-history.ts";

export interface MatchableIntent {
  id: string;
  payment_address: string;
  token_address: string;
}

/**
 * A payer who switched the asset on the checkout (payments/payment-intent-service.ts,
 * chooseAsset) may still pay in the one shown before: the deposit address is the same on every
 * EVM chain. Such a transfer, to an intent that has received nothing else, switches the intent
 * back to that asset (its quote as it was shown, kept in payment_intent_asset_changes) under the
 * intent's row lock, so the transfer is matched and counted like any other (on time, short, or
 * late and refunded). Returns the intents switched back, for the caller's matching.
 *
 * Not handled: the old asset paid after something already arrived in the new one (the intent
 * cannot count two tokens); that transfer stays unmatched and is logged by the caller's follower
 * as an ordinary unknown transfer (docs/accepted-assets.md).
 */
export async function restoreLeftAssets(
  trx: Transaction<Database>,
  chainKey: string,
  logs: readonly TransferLog[],
  now: Date,
): Promise<MatchableIntent[]> {
  if (logs.length === 0) return [];
  const recipients = [...new Set(logs.map((l) => l.to.toLowerCase()))];
  const changes = await trx
    .selectFrom("payment_intent_asset_changes")
    .selectAll()
    .where("chain_id", "=", chainKey)
    .where((eb) => eb(eb.fn("lower", ["payment_address"]), "in", recipients))
    .orderBy("id", "desc")
    .execute();
  const restored: MatchableIntent[] = [];
  for (const log of logs) {
    const change = changes.find(
      (c) =>
        c.payment_address.toLowerCase() === log.to.toLowerCase() &&
        c.token_address.toLowerCase() === log.token.toLowerCase(),
    );
    if (!change || restored.some((r) => r.id === change.payment_intent_id)) continue;
    const intent = await trx
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", change.payment_intent_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const received = await trx
      .selectFrom("transfers")
      .select("tx_hash")
      .where("payment_intent_id", "=", intent.id)
      .where("state", "!=", "orphaned")
      .limit(1)
      .executeTakeFirst();
    if (received) continue;
    await trx
      .insertInto("payment_intent_asset_changes")
      .values({
        payment_intent_id: intent.id,
        payment_address: intent.payment_address,
        chain_id: intent.payment_chain_id,
        token_address: intent.token_address,
        symbol: intent.symbol,
        decimals: intent.decimals,
        crypto_amount: intent.crypto_amount,
        rate: intent.rate,
        rate_source: intent.rate_source,
        created_at: now,
      })
      .execute();
    await trx
      .updateTable("payment_intents")
      .set({
        payment_chain_id: change.chain_id,
        token_address: change.token_address,
        symbol: change.symbol,
        decimals: change.decimals,
        crypto_amount: change.crypto_amount,
        rate: change.rate,
        rate_source: change.rate_source,
        updated_at: now,
      })
      .where("id", "=", intent.id)
      .execute();
    await appendStatusHistory(trx, {
      paymentIntentId: intent.id,
      from: intent.status,
      to: intent.status,
      cause: `chain: paid in ${change.chain_id}/${change.symbol}, shown before the payer chose ${intent.payment_chain_id}/${intent.symbol}; switched back (tx ${log.txHash})`,
      at: now,
    });
    restored.push({
      id: intent.id,
      payment_address: intent.payment_address,
      token_address: change.token_address,
    });
  }
  return restored;
}
