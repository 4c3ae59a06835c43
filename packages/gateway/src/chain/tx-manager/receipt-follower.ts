import type { Kysely, Transaction } from "kysely";
import type { Logger } from "pino";
import {
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
} from "viem";
import type { Database } from "../../platform/database/schema.ts";
import type { ConfirmationPolicy } from "../follower/index.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { ChainTxRow } from "./chain-tx-view.ts";
import type { Replace } from "./replacer.ts";

export interface CreateReceiptFollowerParameters {
  db: Kysely<Database>;
  client: (chainKey: string) => PublicClient;
  log: Logger;
  now: () => Date;
  confirmations: (chainKey: string) => ConfirmationPolicy;
  /** A transaction not mined this many blocks after its broadcast is replaced with higher fees. */
  replaceAfterBlocks: number;
  broadcaster: Broadcaster;
  replace: Replace;
  /** In the transaction that marks a mined transaction confirmed or failed (the ledger). */
  onSettled?: ((trx: Transaction<Database>, row: ChainTxRow) => Promise<void>) | undefined;
}

/**
 * Follows a sent transaction to its receipt and on to the chain's confirmations, back to waiting
 * when a reorganisation drops it, and to a replacement when it is not mined in time.
 */
export function createReceiptFollower(parameters: CreateReceiptFollowerParameters) {
  const { db, client, log, now, broadcaster, replace } = parameters;

  async function findReceipt(row: ChainTxRow): Promise<TransactionReceipt | null> {
    const hashes = await db
      .selectFrom("chain_tx_attempts")
      .select("tx_hash")
      .where("chain_tx_id", "=", row.id)
      .orderBy("id", "desc")
      .execute();
    for (const { tx_hash } of hashes) {
      try {
        return await client(row.chain_id).getTransactionReceipt({ hash: tx_hash as Hex });
      } catch (err) {
        if (!(err instanceof TransactionReceiptNotFoundError)) throw err;
      }
    }
    return null;
  }

  async function isConfirmed(chainKey: string, blockNumber: bigint, head: bigint) {
    const policy = parameters.confirmations(chainKey);
    if (typeof policy === "number") return head - blockNumber + 1n >= BigInt(policy);
    const tagged = await client(chainKey).getBlock({ blockTag: policy });
    return tagged.number !== null && blockNumber <= tagged.number;
  }

  /** A transaction with a receipt: confirmed at the chain's policy, or reorganised out. */
  async function followMined(row: ChainTxRow, head: bigint): Promise<void> {
    const number = BigInt(row.block_number as string | number);
    const block = await client(row.chain_id)
      .getBlock({ blockNumber: number })
      .catch(() => null);
    if (!block || block.hash !== row.block_hash) {
      // Reorganised away: back to waiting for a receipt, and the same bytes go out again.
      log.warn({ chain: row.chain_id, tx_hash: row.tx_hash }, "transaction reorganised out");
      await db
        .updateTable("chain_txs")
        .set({
          state: "broadcast",
          block_number: null,
          block_hash: null,
          broadcast_block: head,
          updated_at: now(),
        })
        .where("id", "=", row.id)
        .execute();
      await broadcaster.broadcast({ ...row, state: "broadcast" }, head);
      return;
    }
    if (!(await isConfirmed(row.chain_id, number, head))) return;
    const reverted = row.error_kind === "reverted";
    await db.transaction().execute(async (trx) => {
      const settled = await trx
        .updateTable("chain_txs")
        .set({ state: reverted ? "failed" : "confirmed", updated_at: now() })
        .where("id", "=", row.id)
        .where("state", "=", "mined")
        .returningAll()
        .executeTakeFirst();
      if (settled) await parameters.onSettled?.(trx, settled);
    });
    if (reverted) log.error({ chain: row.chain_id, tx_hash: row.tx_hash }, "transaction reverted");
  }

  /** A sent transaction: mined (any of its versions), stuck, or dropped by a node. */
  async function followBroadcast(row: ChainTxRow, head: bigint): Promise<void> {
    const receipt = await findReceipt(row);
    if (receipt) {
      await db
        .updateTable("chain_txs")
        .set({
          state: "mined",
          tx_hash: receipt.transactionHash,
          block_number: receipt.blockNumber,
          block_hash: receipt.blockHash,
          gas_used: receipt.gasUsed,
          effective_gas_price: receipt.effectiveGasPrice,
          ...(receipt.status === "reverted"
            ? { error_kind: "reverted", error: "the transaction reverted on chain" }
            : { error_kind: null, error: null }),
          updated_at: now(),
        })
        .where("id", "=", row.id)
        .execute();
      return;
    }
    const waited = head - BigInt(row.broadcast_block ?? head);
    if (waited >= BigInt(parameters.replaceAfterBlocks)) {
      // None of our versions is mined, yet the chain is past this nonce: another transaction
      // from the same key took it. Replacing cannot help; a person has to look.
      const mined = await client(row.chain_id).getTransactionCount({
        address: row.sender as Address,
        blockTag: "latest",
      });
      // Receipts again: one of ours may have been mined since the first look.
      if (mined > Number(row.nonce) && !(await findReceipt(row))) {
        const message = `nonce ${row.nonce} was used by a transaction this gateway did not send`;
        log.error({ chain: row.chain_id, sender: row.sender }, message);
        await db
          .updateTable("chain_txs")
          .set({ state: "failed", error_kind: "nonce_too_low", error: message, updated_at: now() })
          .where("id", "=", row.id)
          .execute();
        return;
      }
      await replace(row, head);
    }
    // A node may have dropped it (restart, mempool eviction): sending again costs nothing.
    else await broadcaster.broadcast(row, head);
  }

  return { followBroadcast, followMined };
}

export type ReceiptFollower = ReturnType<typeof createReceiptFollower>;
