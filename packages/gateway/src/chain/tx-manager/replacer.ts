import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { type Address, type Hex, keccak256 } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { Database } from "../../platform/database/schema.ts";
import type { ChainRegistry } from "../chain-registry.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { ChainTxRow } from "./chain-tx-view.ts";
import type { FeeOracle } from "./fee-oracle.ts";
import { loadAuthorizations, signRequest } from "./submitter.ts";

export interface CreateReplacerParameters {
  db: Kysely<Database>;
  chains: ChainRegistry;
  log: Logger;
  now: () => Date;
  fees: FeeOracle;
  broadcaster: Broadcaster;
  /** The key of one of our senders, or undefined when this process cannot sign for it. */
  signerFor: (row: ChainTxRow) => Promise<PrivateKeyAccount | undefined>;
  onReplaced?: ((chainKey: string) => void) | undefined;
}

/**
 * Re-signs a stuck transaction with the same nonce and higher fees. Every signed version is kept
 * (chain_tx_attempts): whichever is mined counts.
 */
export function createReplacer(parameters: CreateReplacerParameters) {
  const { db, chains, log, now, fees, broadcaster } = parameters;

  return async function replace(row: ChainTxRow, head: bigint): Promise<void> {
    const oldMax = BigInt(row.max_fee_per_gas);
    const fee = await fees.current(row.chain_id, {
      maxFeePerGas: oldMax,
      maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas),
    });
    if (fee.maxFeePerGas <= oldMax) {
      await broadcaster.setError(
        row,
        "underpriced",
        `stuck at the fee cap (${fees.cap} wei per gas)`,
      );
      await broadcaster.broadcast(row, head);
      return;
    }
    const signer = await parameters.signerFor(row);
    if (!signer) {
      log.error(
        { chain: row.chain_id, sender: row.sender },
        "no key to replace a stuck transaction",
      );
      await broadcaster.broadcast(row, head);
      return;
    }
    // The same authorizations: the delegating addresses' nonces have not moved while it waited.
    const raw = await signRequest(signer, {
      chainId: chains.get(row.chain_id).evmChainId,
      nonce: Number(row.nonce),
      to: row.to_address as Address,
      data: row.data as Hex,
      value: BigInt(row.value),
      gas: BigInt(row.gas_limit),
      fee,
      authorizationList: loadAuthorizations(row.authorization_list),
    });
    const hash = keccak256(raw);
    const updated = await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("chain_tx_attempts")
        .values({
          chain_tx_id: row.id,
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: fee.maxFeePerGas,
          max_priority_fee_per_gas: fee.maxPriorityFeePerGas,
        })
        .execute();
      return trx
        .updateTable("chain_txs")
        .set({
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: fee.maxFeePerGas,
          max_priority_fee_per_gas: fee.maxPriorityFeePerGas,
          broadcast_block: head,
          updated_at: now(),
        })
        .where("id", "=", row.id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    log.warn(
      {
        chain: row.chain_id,
        sender: row.sender,
        nonce: Number(row.nonce),
        old_max_fee: oldMax.toString(),
        max_fee: fee.maxFeePerGas.toString(),
        tx_hash: hash,
      },
      "transaction not mined in time; replaced with higher fees",
    );
    parameters.onReplaced?.(row.chain_id);
    await broadcaster.broadcast(updated, head);
  };
}

export type Replace = ReturnType<typeof createReplacer>;
