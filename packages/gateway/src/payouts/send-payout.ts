import type { Kysely, Selectable } from "kysely";
import type { Address } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { TokenInfo } from "../chain/known-chains.ts";
import {
  type ChainTxView,
  type TxManager,
  TxRejectedError,
} from "../chain/tx-manager/tx-manager.ts";
import type { Database, PayoutsTable } from "../platform/database/schema.ts";
import { rejectedByToken } from "./check-balances.ts";
import { transferCalldata } from "./erc20.ts";
import { unixSeconds } from "./payout-queries.ts";
import { chainUnavailable, gasNotEnough } from "./transfer-errors.ts";
import type { TransferResult } from "./transfer-schemas.ts";

/**
 * A reservation with no chain transaction after this long was left by a process that stopped
 * between reserving and signing; nothing was sent for it, so it is released.
 */
const ABANDONED_RESERVATION_MS = 10 * 60 * 1000;

/** The transaction manager's key for a payout: a retried send becomes the same transaction. */
const chainTxKey = (payoutId: string) => `payout:${payoutId}`;

export const transferResult = (
  row: Pick<Selectable<PayoutsTable>, "id" | "created_at">,
  txHash: string,
): TransferResult => ({ id: row.id, tx_hash: txHash, transfer_time: unixSeconds(row.created_at) });

/**
 * The second half of a transfer, after its reservation: sign and send through the transaction
 * manager, link the payout to its chain transaction, or release the reservation when nothing was
 * signed.
 */
export function createPayoutSender(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  txManager: Pick<TxManager, "submit" | "byKey" | "client">;
  wallets: { hotWallet(orgId: number): PrivateKeyAccount };
  now: () => Date;
}) {
  const { db, chains, txManager, wallets, now } = options;

  const link = (payoutId: string, tx: ChainTxView) =>
    db.updateTable("payouts").set({ chain_tx_id: tx.id }).where("id", "=", payoutId).execute();

  /** Only a reservation nothing was signed for: it then holds no balance or limit. */
  const release = (payoutId: string) =>
    db.deleteFrom("payouts").where("id", "=", payoutId).where("chain_tx_id", "is", null).execute();

  return {
    /** Signs and sends a reserved payout (again, after a crash: the key makes it the same tx). */
    async send(row: Selectable<PayoutsTable>, orgId: number): Promise<TransferResult> {
      const hot = wallets.hotWallet(orgId);
      let tx: ChainTxView;
      try {
        tx = await txManager.submit({
          chainKey: row.chain_id,
          from: hot,
          to: row.token_address as Address,
          data: transferCalldata({ to: row.to_address as Address, amount: BigInt(row.amount) }),
          purpose: "payout",
          idempotencyKey: chainTxKey(row.id),
        });
      } catch (err) {
        // Nothing was signed unless the manager stored a transaction under this payout's key (an
        // error after signing).
        const stored = await txManager.byKey(chainTxKey(row.id)).catch(() => undefined);
        if (stored) {
          await link(row.id, stored);
          return transferResult(row, stored.txHash);
        }
        await release(row.id);
        const chain = chains.get(row.chain_id);
        if (!(err instanceof TxRejectedError)) throw chainUnavailable(chain.key, err);
        if (err.kind === "insufficient_funds") throw gasNotEnough(hot.address, chain.key);
        if (err.kind === "reverted") {
          const token = chain.tokens.find((t) => t.address === row.token_address) as TokenInfo;
          const v = { chain, token, amount: BigInt(row.amount), to: row.to_address as Address };
          throw await rejectedByToken(txManager.client(chain.key), v, hot.address, err);
        }
        throw chainUnavailable(chain.key, err);
      }
      await link(row.id, tx);
      return transferResult(row, tx.txHash);
    },

    /** A reservation left by a process that stopped before signing: link it, or release it. */
    async settleAbandoned(orgId: number): Promise<void> {
      const stale = await db
        .selectFrom("payouts")
        .select("id")
        .where("org_id", "=", orgId)
        .where("chain_tx_id", "is", null)
        .where("created_at", "<", new Date(now().getTime() - ABANDONED_RESERVATION_MS))
        .execute();
      for (const { id } of stale) {
        const tx = await txManager.byKey(chainTxKey(id));
        if (tx) await link(id, tx);
        else await release(id);
      }
    },
  };
}

export type PayoutSender = ReturnType<typeof createPayoutSender>;
