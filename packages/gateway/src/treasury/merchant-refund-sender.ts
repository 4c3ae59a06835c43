import type { Kysely, Selectable, Transaction } from "kysely";
import type { Logger } from "pino";
import type { Address } from "viem";
import { enqueueEventCallback } from "../callbacks/outbox.ts";
import type { CallbackEventName } from "../callbacks/schemas.ts";
import type { ChainTxView } from "../chain/tx-manager/tx-manager.ts";
import { lockIntent } from "../payments/lifecycle/transition.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type {
  Database,
  MerchantRefundStatus,
  MerchantRefundsTable,
  PaymentIntentsTable,
} from "../platform/database/schema.ts";
import {
  type DepositSender,
  type TreasuryStep,
  TreasuryWorkStoppedError,
} from "./deposit-sender.ts";

/** The chain transaction's idempotency key: one refund request, one token transfer. */
export const merchantRefundTxKey = (refundId: string) => `merchant-refund:${refundId}`;

/**
 * Merchant refunds, the sending side (run by the treasury worker, before any collection): each
 * accepted request becomes one token transfer from the deposit address through the deposit-account
 * strategy and the transaction manager, keyed by the request, so a retry, a restart or a crash at
 * any point finds the transaction already made. Each step's callback (refund.sent,
 * refund.confirmed, refund.failed) commits with the state change it reports.
 */
export function createMerchantRefundSender(options: {
  db: Kysely<Database>;
  sender: DepositSender;
  now: () => Date;
  log: Logger;
  /** Called after a committed callback event (the dispatcher delivers at once). */
  onEvent?: (() => void) | undefined;
}) {
  const { db, sender, now, log } = options;

  /** Moves the intent's open merchant refunds on; a step to wait for, or undefined once none is open. */
  async function runOpen(
    intent: Selectable<PaymentIntentsTable>,
  ): Promise<TreasuryStep | undefined> {
    const open = await db
      .selectFrom("merchant_refunds")
      .selectAll()
      .where("payment_intent_id", "=", intent.id)
      .where("status", "in", ["pending", "sent"])
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    // One at a time: each transfer from the deposit address is funded and confirmed before the next.
    for (const row of open) {
      const step = await refund(intent, row);
      if (step) return step;
    }
    return undefined;
  }

  async function refund(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<MerchantRefundsTable>,
  ): Promise<TreasuryStep | undefined> {
    try {
      return await send(intent, row);
    } catch (err) {
      if (!(err instanceof TreasuryWorkStoppedError)) throw err;
      // Nothing was signed: the request ends here, failed, for a person to look at.
      await advance(row, ["pending"], "failed", { error: err.message }, "refund.failed", null);
      log.warn(
        { payment_intent_id: intent.id, refund_id: row.id, reason: err.message },
        "merchant refund stopped, not sent",
      );
      return undefined;
    }
  }

  /**
   * Moves the row from one of `from` to `to` and writes the event's callback, in one
   * transaction under the intent's lock; nothing when another worker moved it first.
   */
  async function advance(
    row: Selectable<MerchantRefundsTable>,
    from: MerchantRefundStatus[],
    to: MerchantRefundStatus,
    set: { chain_tx_id?: number; error?: string },
    event: CallbackEventName,
    txHash: string | null,
  ): Promise<void> {
    const announced = await db.transaction().execute(async (trx: Transaction<Database>) => {
      const at = now();
      const intent = await lockIntent(trx, row.payment_intent_id);
      if (!intent)
        throw new Error(`payment intent ${row.payment_intent_id} vanished during its refund`);
      const moved = await trx
        .updateTable("merchant_refunds")
        .set({ ...set, status: to, updated_at: at })
        .where("id", "=", row.id)
        .where("status", "in", from)
        .executeTakeFirst();
      if (moved.numUpdatedRows === 0n) return false;
      const id = await enqueueEventCallback(trx, intent, at, {
        event,
        refund: {
          refund_id: row.id,
          kind: "merchant",
          amount: formatTokenAmount(BigInt(row.amount), intent.decimals),
          to_address: row.to_address,
          tx_hash: txHash,
          status: to,
        },
      });
      return id !== undefined;
    });
    if (announced) options.onEvent?.();
  }

  async function send(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<MerchantRefundsTable>,
  ): Promise<TreasuryStep | undefined> {
    const key = merchantRefundTxKey(row.id);
    const tx = await sender.send(
      row.chain_tx_id,
      {
        chainKey: row.chain_id,
        depositIndex: intent.deposit_index,
        token: row.token_address as Address,
        to: row.to_address as Address,
        amount: BigInt(row.amount),
        purpose: "refund",
        idempotencyKey: key,
        // Under the intent's lock where the transfer is signed: a deep reorg may have reversed
        // the payment since the refund was accepted (reversals.ts freezes the intent then).
        precondition: async (trx) => {
          const current = await lockIntent(trx, intent.id);
          if (current?.reversed_at) {
            throw new TreasuryWorkStoppedError(
              `payment intent ${intent.id} was reversed by a deep reorg; refund ${row.id} needs a person`,
            );
          }
        },
      },
      async (t) => {
        await advance(row, ["pending"], "sent", { chain_tx_id: t.id }, "refund.sent", t.txHash);
        log.info(
          { payment_intent_id: intent.id, refund_id: row.id, tx_hash: t.txHash },
          "merchant refund sent",
        );
      },
    );
    if ("kind" in tx) return tx;
    if (tx.state === "failed") {
      const error = `refund transaction ${tx.txHash} failed: ${tx.error ?? "unknown"}`;
      await advance(row, ["pending", "sent"], "failed", { error }, "refund.failed", tx.txHash);
      log.error(
        { payment_intent_id: intent.id, refund_id: row.id, tx_hash: tx.txHash },
        `${error}; the amount is refundable again`,
      );
      return undefined;
    }
    if (tx.state !== "confirmed") return sender.wait(`merchant refund ${tx.txHash} is ${tx.state}`);
    await sender.settled(tx);
    await confirm(row, tx);
    return undefined;
  }

  async function confirm(row: Selectable<MerchantRefundsTable>, tx: ChainTxView): Promise<void> {
    await advance(
      row,
      ["pending", "sent"],
      "confirmed",
      { chain_tx_id: tx.id },
      "refund.confirmed",
      tx.txHash,
    );
    log.info(
      { payment_intent_id: row.payment_intent_id, refund_id: row.id, tx_hash: tx.txHash },
      "merchant refund confirmed",
    );
  }

  return { runOpen };
}

export type MerchantRefundSender = ReturnType<typeof createMerchantRefundSender>;
