import { type Kysely, type Selectable, sql } from "kysely";
import type { Logger } from "pino";
import type { Address } from "viem";
import { enqueueEventCallback } from "../callbacks/outbox.ts";
import type { ChainTxView } from "../chain/tx-manager/tx-manager.ts";
import { lockIntent } from "../payments/lifecycle/transition.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type {
  CollectionsTable,
  Database,
  PaymentIntentsTable,
} from "../platform/database/schema.ts";
import {
  type DepositSender,
  type TreasuryStep,
  TreasuryWorkStoppedError,
} from "./deposit-sender.ts";
import { splitCollection } from "./rules.ts";

/**
 * Collections: a successful payment moves from its deposit address into the organisation's
 * treasury, less the operator's fee (a second transfer to the fee address). Each leg is keyed by
 * the intent, so a retry finds the transfer already made.
 */
export function createCollections(options: {
  db: Kysely<Database>;
  sender: DepositSender;
  now: () => Date;
  log: Logger;
  /** Where the operator's fee goes (FEE_ADDRESS, or the seed's fee wallet). */
  feeAddress: () => Address;
  /** A collection waits this long after the success (and always until the deadline). */
  collectionDelaySeconds: number;
  /** The precision amounts are quoted in: aggregated_amount is rounded down to it. */
  quoteDecimals: number;
  /** Called after a committed callback event (the dispatcher delivers at once). */
  onEvent?: (() => void) | undefined;
}) {
  const { db, sender, now, log } = options;

  async function collect(intent: Selectable<PaymentIntentsTable>): Promise<TreasuryStep> {
    const at = now();
    const succeeded = await db
      .selectFrom("payment_intent_status_history")
      .select("created_at")
      .where("payment_intent_id", "=", intent.id)
      .where("to_status", "=", "success")
      .orderBy("id", "desc")
      .executeTakeFirst();
    // Until the deadline more on-time payments may arrive and raise received_amount.
    const dueAt = Math.max(
      intent.payment_deadline.getTime() + 1000,
      (succeeded?.created_at ?? intent.updated_at).getTime() +
        options.collectionDelaySeconds * 1000,
    );
    if (at.getTime() < dueAt) return sender.wait("collection not due yet", dueAt - at.getTime());
    const confirming = await db
      .selectFrom("transfers")
      .select("tx_hash")
      .where("payment_intent_id", "=", intent.id)
      .where("state", "=", "seen")
      .where("block_timestamp", "<=", intent.payment_deadline)
      .executeTakeFirst();
    if (confirming) return sender.wait(`on-time payment ${confirming.tx_hash} is still confirming`);
    // Chain time, as the lifecycle's deadline sweep uses: until the watcher has stored a block
    // newer than the deadline, an on-time payment may still be unread, and collecting now would
    // strand it on the deposit address.
    const pastDeadline = await db
      .selectFrom("chain_blocks")
      .select("number")
      .where("chain_id", "=", intent.payment_chain_id)
      .where("timestamp", ">", Math.floor(intent.payment_deadline.getTime() / 1000))
      .limit(1)
      .executeTakeFirst();
    if (!pastDeadline) return sender.wait("the chain watcher has not read past the deadline yet");

    const org = await db
      .selectFrom("organizations")
      .select(["id", "treasury_address", "fee_bps"])
      .where("id", "=", intent.org_id)
      .executeTakeFirstOrThrow();
    let row = await db
      .selectFrom("collections")
      .selectAll()
      .where("payment_intent_id", "=", intent.id)
      .executeTakeFirst();
    if (!row || row.state === "waiting_treasury") {
      const source = {
        payment_intent_id: intent.id,
        chain_id: intent.payment_chain_id,
        token_address: intent.token_address,
        from_address: intent.payment_address,
      };
      if (!org.treasury_address) {
        if (!row) {
          const error = `organization ${org.id} has no treasury_address: set one with \`stablegate org set-treasury ${org.id} <address>\``;
          await db
            .insertInto("collections")
            .values({ ...source, state: "waiting_treasury", error })
            .onConflict((oc) => oc.column("payment_intent_id").doNothing())
            .execute();
          log.warn(
            { payment_intent_id: intent.id, org_id: org.id },
            `collection skipped: ${error}`,
          );
        }
        return { kind: "done" };
      }
      const treasury = org.treasury_address;
      // Decided under the intent's lock, as a merchant refund is (merchant-refund-service.ts):
      // what refunds reserved is not collected, and once this row is pending none is accepted.
      row = await db.transaction().execute(async (trx) => {
        const current = (await lockIntent(trx, intent.id)) ?? intent;
        const refunded = await trx
          .selectFrom("merchant_refunds")
          .select(sql<string>`coalesce(sum(amount), 0)`.as("amount"))
          .where("payment_intent_id", "=", intent.id)
          .where("status", "!=", "failed")
          .executeTakeFirstOrThrow();
        const held = BigInt(current.received_amount ?? 0) - BigInt(refunded.amount);
        const { aggregated, fee } = splitCollection(
          held > 0n ? held : 0n,
          org.fee_bps,
          intent.decimals,
          options.quoteDecimals,
        );
        const values = {
          treasury_address: treasury,
          fee_address: options.feeAddress(),
          amount: aggregated,
          fee,
          state: "pending" as const,
          error: null,
          updated_at: now(),
        };
        return trx
          .insertInto("collections")
          .values({ ...source, ...values })
          .onConflict((oc) =>
            oc
              .column("payment_intent_id")
              .doUpdateSet(values)
              .where("collections.state", "=", "waiting_treasury"),
          )
          .returningAll()
          .executeTakeFirst();
      });
      row ??= await db
        .selectFrom("collections")
        .selectAll()
        .where("payment_intent_id", "=", intent.id)
        .executeTakeFirstOrThrow();
    }
    if (row.state !== "pending" && row.state !== "submitted") return { kind: "done" };
    return collectRow(intent, row);
  }

  async function collectRow(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<CollectionsTable>,
  ): Promise<TreasuryStep> {
    try {
      return await sendLegs(intent, row);
    } catch (err) {
      if (!(err instanceof TreasuryWorkStoppedError)) throw err;
      log.warn(
        { payment_intent_id: intent.id, reason: err.message },
        "collection stopped, not sent",
      );
      return { kind: "done" };
    }
  }

  async function sendLegs(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<CollectionsTable>,
  ): Promise<TreasuryStep> {
    const legs = [
      {
        column: "chain_tx_id" as const,
        amount: BigInt(row.amount ?? 0),
        to: row.treasury_address as Address,
        purpose: "collection" as const,
        key: `collect:${intent.id}`,
      },
      {
        column: "fee_chain_tx_id" as const,
        amount: BigInt(row.fee ?? 0),
        to: row.fee_address as Address,
        purpose: "fee" as const,
        key: `collect-fee:${intent.id}`,
      },
    ];
    const txs: Partial<Record<"chain_tx_id" | "fee_chain_tx_id", ChainTxView>> = {};
    // A leg queued for a sweep lets the other be asked for too, so both go in one batch
    // (with top-ups, one transfer per address at a time: the fee leg waits its turn).
    let queued: TreasuryStep | undefined;
    for (const leg of legs) {
      if (leg.amount === 0n) continue;
      const tx = await sender.send(
        row[leg.column],
        {
          chainKey: row.chain_id,
          depositIndex: intent.deposit_index,
          token: row.token_address as Address,
          to: leg.to,
          amount: leg.amount,
          purpose: leg.purpose,
          idempotencyKey: leg.key,
          // A deep reorg may have stopped the collection since it was read (reversals.ts).
          precondition: async (trx) => {
            await lockIntent(trx, intent.id);
            const current = await trx
              .selectFrom("collections")
              .select(["state", "error"])
              .where("id", "=", row.id)
              .executeTakeFirst();
            if (current?.state === "failed")
              throw new TreasuryWorkStoppedError(current.error ?? leg.key);
          },
        },
        async (t) => {
          await db
            .updateTable("collections")
            .set({ [leg.column]: t.id, state: "submitted", updated_at: now() })
            .where("id", "=", row.id)
            .execute();
          log.info(
            { payment_intent_id: intent.id, purpose: leg.purpose, tx_hash: t.txHash },
            "collection transfer submitted",
          );
        },
      );
      if ("kind" in tx) {
        if (tx.kind === "wait" && tx.concurrent) {
          queued ??= tx;
          continue;
        }
        return tx;
      }
      if (tx.state === "failed") {
        const error = `${leg.purpose} transaction ${tx.txHash} failed: ${tx.error ?? "unknown"}`;
        await db
          .updateTable("collections")
          .set({ state: "failed", error, updated_at: now() })
          .where("id", "=", row.id)
          .execute();
        log.error({ payment_intent_id: intent.id, tx_hash: tx.txHash }, `${error}; needs a person`);
        return { kind: "done" };
      }
      if (tx.state !== "confirmed")
        return sender.wait(`${leg.purpose} ${tx.txHash} is ${tx.state}`);
      await sender.settled(tx);
      txs[leg.column] = tx;
    }
    if (queued) return queued;
    const announced = await db.transaction().execute(async (trx) => {
      const confirmed = await trx
        .updateTable("collections")
        .set({ state: "confirmed", error: null, updated_at: now() })
        .where("id", "=", row.id)
        .where("state", "!=", "confirmed")
        .executeTakeFirst();
      const updated = await trx
        .updateTable("payment_intents")
        .set({
          aggregated_amount: BigInt(row.amount ?? 0),
          aggregation_tx_hash: txs.chain_tx_id?.txHash ?? null,
          updated_at: now(),
        })
        .where("id", "=", intent.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      // Opt-in per organisation; once, with the state change that it reports.
      if (confirmed.numUpdatedRows === 0n) return false;
      const org = await trx
        .selectFrom("organizations")
        .select("callback_collection_events")
        .where("id", "=", intent.org_id)
        .executeTakeFirstOrThrow();
      if (!org.callback_collection_events) return false;
      const id = await enqueueEventCallback(trx, updated, now(), {
        event: "collection.confirmed",
        collection: {
          amount: formatTokenAmount(BigInt(row.amount ?? 0), intent.decimals),
          fee: formatTokenAmount(BigInt(row.fee ?? 0), intent.decimals),
          treasury_address: row.treasury_address ?? "",
          tx_hash: txs.chain_tx_id?.txHash ?? null,
          fee_tx_hash: txs.fee_chain_tx_id?.txHash ?? null,
        },
      });
      return id !== undefined;
    });
    if (announced) options.onEvent?.();
    log.info(
      {
        payment_intent_id: intent.id,
        aggregated_amount: formatTokenAmount(BigInt(row.amount ?? 0), intent.decimals),
        fee: formatTokenAmount(BigInt(row.fee ?? 0), intent.decimals),
        treasury: row.treasury_address,
      },
      "payment collected into the treasury",
    );
    return { kind: "done" };
  }

  return { collect };
}

export type Collections = ReturnType<typeof createCollections>;
