import { z } from "@hono/zod-openapi";
import type { Kysely } from "kysely";
import type { ChainRegistry } from "../../chain/chain-registry.ts";
import { formatTokenAmount } from "../../payments/money.ts";
import { PaymentStatus } from "../../payments/schemas.ts";
import type { Database } from "../../platform/database/schema.ts";
import { paymentIntentNotFound } from "../../platform/errors.ts";
import { PAYMENT_INTENT_ID_PATTERN } from "../../platform/ids.ts";
import { AdminPayment, toAdminPayment } from "./payment-search.ts";

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const Iso = z.string().openapi({ description: "ISO 8601" });

export const CallbackDelivery = z
  .object({
    event_id: z.string(),
    status: PaymentStatus,
    url: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    created_at: Iso,
    delivered_at: Iso.nullable(),
    attempts: z.array(
      z.object({
        at: Iso,
        http_status: z.number().int().nullable(),
        outcome: z.enum(["delivered", "retry", "failed"]),
        duration_ms: z.number().int(),
        error: z.string().nullable(),
        response_excerpt: z.string().nullable(),
      }),
    ),
  })
  .openapi("AdminCallbackEvent");

export const PaymentDetail = z
  .object({
    intent: AdminPayment,
    history: z.array(
      z.object({
        from_status: PaymentStatus.nullable(),
        to_status: PaymentStatus,
        cause: z.string(),
        at: Iso,
      }),
    ),
    transfers: z.array(
      z.object({
        chain_id: z.string(),
        tx_hash: z.string(),
        log_index: z.number().int(),
        from: z.string(),
        to: z.string(),
        amount: z.string(),
        block_number: z.string(),
        state: z.enum(["seen", "confirmed", "orphaned"]),
        at: Iso,
        explorer_url: z.string().nullable(),
      }),
    ),
    refunds: z.array(
      z.object({
        kind: z.enum(["insufficient", "late"]),
        amount: z.string(),
        to: z.string(),
        state: z.enum(["pending", "submitted", "confirmed", "failed"]),
        tx_hash: z.string().nullable(),
        explorer_url: z.string().nullable(),
        at: Iso,
      }),
    ),
    collections: z.array(
      z.object({
        amount: z.string().nullable(),
        fee: z.string().nullable(),
        treasury_address: z.string().nullable(),
        state: z.enum(["waiting_treasury", "pending", "submitted", "confirmed", "failed"]),
        tx_hash: z.string().nullable(),
        fee_tx_hash: z.string().nullable(),
        explorer_url: z.string().nullable(),
      }),
    ),
    callbacks: z.array(CallbackDelivery),
    events: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        chain_id: z.string().nullable(),
        data: z.record(z.string(), z.unknown()),
        created_at: Iso,
      }),
    ),
  })
  .openapi("AdminPaymentDetail");
export type PaymentDetail = z.infer<typeof PaymentDetail>;

/** `${explorer}/tx/${hash}` for chains that have an explorer (not the sandbox's). */
export function explorerLink(chains: ChainRegistry) {
  return (chainId: string, hash: string | null) => {
    const base = chains.list().find((c) => c.key === chainId)?.explorerUrl;
    return base && hash ? `${base}/tx/${hash}` : null;
  };
}

/** Everything Studio's payment page shows about one intent, read in one snapshot. */
export async function paymentDetail(
  deps: { db: Kysely<Database>; chains: ChainRegistry },
  orgId: number,
  id: string,
): Promise<PaymentDetail> {
  if (!PAYMENT_INTENT_ID_PATTERN.test(id)) throw paymentIntentNotFound(id);
  const explorer = explorerLink(deps.chains);
  return deps.db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (trx) => {
      const row = await trx
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .where("org_id", "=", orgId)
        .executeTakeFirst();
      if (!row) throw paymentIntentNotFound(id);
      const amount = (v: string | null) =>
        v === null ? null : formatTokenAmount(BigInt(v), row.decimals);
      const [history, transfers, refunds, collections, events, callbacks, attempts] =
        await Promise.all([
          trx
            .selectFrom("payment_intent_status_history")
            .select(["from_status", "to_status", "cause", "created_at"])
            .where("payment_intent_id", "=", id)
            .orderBy("id")
            .execute(),
          trx
            .selectFrom("transfers")
            .selectAll()
            .where("payment_intent_id", "=", id)
            .orderBy("block_number")
            .orderBy("log_index")
            .execute(),
          trx
            .selectFrom("refunds as r")
            .leftJoin("chain_txs as t", "t.id", "r.chain_tx_id")
            .select(["r.kind", "r.amount", "r.to_address", "r.state", "r.chain_id", "r.created_at"])
            .select("t.tx_hash")
            .where("r.payment_intent_id", "=", id)
            .orderBy("r.id")
            .execute(),
          trx
            .selectFrom("collections as c")
            .leftJoin("chain_txs as t", "t.id", "c.chain_tx_id")
            .leftJoin("chain_txs as f", "f.id", "c.fee_chain_tx_id")
            .select(["c.amount", "c.fee", "c.treasury_address", "c.state", "c.chain_id"])
            .select(["t.tx_hash", "f.tx_hash as fee_tx_hash"])
            .where("c.payment_intent_id", "=", id)
            .orderBy("c.id")
            .execute(),
          trx
            .selectFrom("gateway_events")
            .selectAll()
            .where("payment_intent_id", "=", id)
            .orderBy("id")
            .execute(),
          trx
            .selectFrom("callback_events")
            .select(["id", "status", "url", "state", "created_at", "delivered_at"])
            .where("payment_intent_id", "=", id)
            .orderBy("position")
            .execute(),
          trx
            .selectFrom("callback_attempts as a")
            .innerJoin("callback_events as e", "e.id", "a.event_id")
            .selectAll("a")
            .where("e.payment_intent_id", "=", id)
            .orderBy("a.id")
            .execute(),
        ]);
      return {
        intent: toAdminPayment(row),
        history: history.map((h) => ({
          from_status: h.from_status,
          to_status: h.to_status,
          cause: h.cause,
          at: h.created_at.toISOString(),
        })),
        transfers: transfers.map((t) => ({
          chain_id: t.chain_id,
          tx_hash: t.tx_hash,
          log_index: t.log_index,
          from: t.from_address,
          to: t.to_address,
          amount: formatTokenAmount(BigInt(t.amount), row.decimals),
          block_number: String(t.block_number),
          state: t.state,
          at: t.block_timestamp.toISOString(),
          explorer_url: explorer(t.chain_id, t.tx_hash),
        })),
        refunds: refunds.map((r) => ({
          kind: r.kind,
          amount: formatTokenAmount(BigInt(r.amount), row.decimals),
          to: r.to_address,
          state: r.state,
          tx_hash: r.tx_hash,
          explorer_url: explorer(r.chain_id, r.tx_hash),
          at: r.created_at.toISOString(),
        })),
        collections: collections.map((c) => ({
          amount: amount(c.amount),
          fee: amount(c.fee),
          treasury_address: c.treasury_address,
          state: c.state,
          tx_hash: c.tx_hash,
          fee_tx_hash: c.fee_tx_hash,
          explorer_url: explorer(c.chain_id, c.tx_hash),
        })),
        callbacks: callbacks.map((e) => ({
          event_id: e.id,
          status: e.status,
          url: e.url,
          state: e.state,
          created_at: e.created_at.toISOString(),
          delivered_at: iso(e.delivered_at),
          attempts: attempts
            .filter((a) => a.event_id === e.id)
            .map((a) => ({
              at: a.attempted_at.toISOString(),
              http_status: a.http_status,
              outcome: a.outcome,
              duration_ms: a.duration_ms,
              error: a.error,
              response_excerpt: a.response_excerpt,
            })),
        })),
        events: events.map((e) => ({
          id: String(e.id),
          type: e.type,
          chain_id: e.chain_id,
          data: e.data,
          created_at: e.created_at.toISOString(),
        })),
      };
    });
}
