import type { Kysely, Selectable, Transaction } from "kysely";
import type { Logger } from "pino";
import type { Address } from "viem";
import { enqueueEventCallback } from "../callbacks/outbox.ts";
import type { ChainTxView } from "../chain/tx-manager/tx-manager.ts";
import { lockIntent, transition } from "../payments/lifecycle/transition.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type { Database, PaymentIntentsTable, RefundsTable } from "../platform/database/schema.ts";
import {
  type DepositSender,
  type TreasuryStep,
  TreasuryWorkStoppedError,
} from "./deposit-sender.ts";
import { refundsDue, summariseRefunds, transferKey } from "./rules.ts";

/**
 * Refunds: insufficient payments and payments after the deadline go back to their senders, one
 * transfer per payment, keyed by the payment itself so a retry never sends it twice.
 */
export function createRefunds(options: {
  db: Kysely<Database>;
  sender: DepositSender;
  now: () => Date;
  log: Logger;
  /** Called after a committed status change (the callback dispatcher delivers at once). */
  onStatusChange?: (() => void) | undefined;
}) {
  const { db, sender, now, log } = options;

  /** Records a refund row for every confirmed payment the intent's status says goes back. */
  async function queueDue(intent: Selectable<PaymentIntentsTable>): Promise<void> {
    const transfers = await db
      .selectFrom("transfers")
      .selectAll()
      .where("payment_intent_id", "=", intent.id)
      .where("state", "=", "confirmed")
      .orderBy("block_number")
      .orderBy("log_index")
      .execute();
    const known = await db
      .selectFrom("refunds")
      .select(["chain_id", "tx_hash", "log_index"])
      .where("payment_intent_id", "=", intent.id)
      .execute();
    const due = refundsDue(
      { status: intent.status, deadline: intent.payment_deadline },
      transfers.map((t) => ({
        chainId: t.chain_id,
        txHash: t.tx_hash,
        logIndex: t.log_index,
        from: t.from_address,
        amount: BigInt(t.amount),
        minedAt: t.block_timestamp,
        confirmed: true,
      })),
      new Set(
        known.map((k) =>
          transferKey({ chainId: k.chain_id, txHash: k.tx_hash, logIndex: k.log_index }),
        ),
      ),
    );
    let announced = false;
    for (const { transfer, kind } of due) {
      announced =
        (await db.transaction().execute(async (trx) => {
          const inserted = await trx
            .insertInto("refunds")
            .values({
              payment_intent_id: intent.id,
              chain_id: transfer.chainId,
              tx_hash: transfer.txHash,
              log_index: transfer.logIndex,
              kind,
              token_address: intent.token_address,
              from_address: intent.payment_address,
              to_address: transfer.from,
              amount: transfer.amount,
            })
            .onConflict((oc) => oc.columns(["chain_id", "tx_hash", "log_index"]).doNothing())
            .returning("id")
            .executeTakeFirst();
          // A late payment is news for the merchant (the status does not change for it): told
          // once, with the decision to send it back.
          if (!inserted || kind !== "late") return false;
          const current = (await lockIntent(trx, intent.id)) ?? intent;
          const id = await enqueueEventCallback(trx, current, now(), {
            event: "late_payment.detected",
            late_payment: {
              tx_hash: transfer.txHash,
              from_address: transfer.from,
              amount: formatTokenAmount(transfer.amount, intent.decimals),
            },
          });
          return id !== undefined;
        })) || announced;
    }
    if (announced) options.onStatusChange?.();
  }

  /** The callback of a late payment's refund (sent or confirmed), in the caller's transaction. */
  async function lateRefundCallback(
    trx: Transaction<Database>,
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<RefundsTable>,
    event: "late_payment.refund_sent" | "late_payment.refunded",
    txHash: string,
  ): Promise<boolean> {
    const id = await enqueueEventCallback(trx, intent, now(), {
      event,
      refund: {
        refund_id: null,
        kind: "late",
        amount: formatTokenAmount(BigInt(row.amount), intent.decimals),
        to_address: row.to_address,
        tx_hash: txHash,
        status: event === "late_payment.refunded" ? "confirmed" : "sent",
      },
      late_payment: {
        tx_hash: row.tx_hash,
        from_address: row.to_address,
        amount: formatTokenAmount(BigInt(row.amount), intent.decimals),
      },
    });
    return id !== undefined;
  }

  /** Moves the intent's open refunds on; a step to wait for, or undefined once none is open. */
  async function runOpen(
    intent: Selectable<PaymentIntentsTable>,
  ): Promise<TreasuryStep | undefined> {
    const open = await db
      .selectFrom("refunds")
      .selectAll()
      .where("payment_intent_id", "=", intent.id)
      .where("state", "in", ["pending", "submitted"])
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
    row: Selectable<RefundsTable>,
  ): Promise<TreasuryStep | undefined> {
    try {
      return await sendRefund(intent, row);
    } catch (err) {
      if (!(err instanceof TreasuryWorkStoppedError)) throw err;
      log.warn({ payment_intent_id: intent.id, reason: err.message }, "refund stopped, not sent");
      return undefined;
    }
  }

  async function sendRefund(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<RefundsTable>,
  ): Promise<TreasuryStep | undefined> {
    const key = `refund:${row.chain_id}:${row.tx_hash.toLowerCase()}:${row.log_index}`;
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
        // A deep reorg may have stopped this refund since it was read (reversals.ts, under the
        // intent's lock): checked under the same lock where the transfer is signed.
        precondition: async (trx) => {
          await lockIntent(trx, intent.id);
          const current = await trx
            .selectFrom("refunds")
            .select(["state", "error"])
            .where("id", "=", row.id)
            .executeTakeFirst();
          if (current?.state === "failed") throw new TreasuryWorkStoppedError(current.error ?? key);
        },
      },
      async (t) => {
        const announced = await db.transaction().execute(async (trx) => {
          const moved = await trx
            .updateTable("refunds")
            .set({ chain_tx_id: t.id, state: "submitted", updated_at: now() })
            .where("id", "=", row.id)
            .where("state", "=", "pending")
            .executeTakeFirst();
          if (moved.numUpdatedRows === 0n || row.kind !== "late") return false;
          const current = (await lockIntent(trx, intent.id)) ?? intent;
          return lateRefundCallback(trx, current, row, "late_payment.refund_sent", t.txHash);
        });
        if (announced) options.onStatusChange?.();
        log.info(
          { payment_intent_id: intent.id, kind: row.kind, tx_hash: t.txHash },
          "refund submitted",
        );
      },
    );
    if ("kind" in tx) return tx;
    if (tx.state === "failed") {
      const error = `refund transaction ${tx.txHash} failed: ${tx.error ?? "unknown"}`;
      await db
        .updateTable("refunds")
        .set({ state: "failed", error, updated_at: now() })
        .where("id", "=", row.id)
        .execute();
      log.error({ payment_intent_id: intent.id, tx_hash: tx.txHash }, `${error}; needs a person`);
      return undefined;
    }
    if (tx.state !== "confirmed") return sender.wait(`refund ${tx.txHash} is ${tx.state}`);
    await sender.settled(tx);
    await confirmRefund(intent.id, row, tx);
    return undefined;
  }

  /** The refund row and the intent's refund fields, status and history: one transaction. */
  async function confirmRefund(intentId: string, row: Selectable<RefundsTable>, tx: ChainTxView) {
    const changed = await db.transaction().execute(async (trx) => {
      const at = now();
      const intent = await lockIntent(trx, intentId);
      if (!intent) throw new Error(`payment intent ${intentId} vanished during its refund`);
      const confirmed = await trx
        .updateTable("refunds")
        .set({ state: "confirmed", chain_tx_id: tx.id, updated_at: at })
        .where("id", "=", row.id)
        .where("state", "!=", "confirmed")
        .executeTakeFirst();
      // Another worker confirmed it first (its lease ran out mid-batch): nothing more to write.
      if (confirmed.numUpdatedRows === 0n) return false;
      const all = await trx
        .selectFrom("refunds")
        .leftJoin("chain_txs", "chain_txs.id", "refunds.chain_tx_id")
        .select(["refunds.kind", "refunds.amount", "refunds.state", "chain_txs.tx_hash"])
        .where("refunds.payment_intent_id", "=", intentId)
        .orderBy("refunds.id")
        .execute();
      const summary = summariseRefunds(
        all.map((r) => ({
          kind: r.kind,
          amount: BigInt(r.amount),
          state: r.state,
          txHash: r.tx_hash,
        })),
      );
      const amount = formatTokenAmount(BigInt(row.amount), intent.decimals);
      if (row.kind === "late") {
        // The status stays; the history still tells a person where the late money went.
        const result = await transition(trx, {
          intent,
          to: intent.status,
          set: {
            late_refund_amount: summary.late.amount,
            late_refund_tx_hash: summary.late.lastTxHash,
          },
          cause: `late payment refunded: ${amount} ${intent.symbol} to ${row.to_address} in ${tx.txHash}`,
          at,
          recordUnchanged: true,
        });
        return lateRefundCallback(trx, result.intent, row, "late_payment.refunded", tx.txHash);
      }
      if (!summary.insufficient.complete) return false;
      const result = await transition(trx, {
        intent,
        to: intent.status === "insufficient_not_refunded" ? "insufficient_refunded" : intent.status,
        set: {
          refund_amount: summary.insufficient.amount,
          refund_tx_hash: summary.insufficient.lastTxHash,
        },
        cause: `refunded: ${formatTokenAmount(summary.insufficient.amount, intent.decimals)} ${intent.symbol}, last in ${summary.insufficient.lastTxHash}`,
        at,
      });
      return result.statusChanged;
    });
    if (changed) {
      if (row.kind !== "late") log.info({ payment_intent_id: intentId }, "payment intent refunded");
      options.onStatusChange?.();
    }
  }

  return { queueDue, runOpen };
}

export type Refunds = ReturnType<typeof createRefunds>;
