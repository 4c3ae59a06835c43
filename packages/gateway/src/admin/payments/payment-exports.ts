import { type Kysely, sql } from "kysely";
import { formatTokenAmount } from "../../payments/money.ts";
import type { Database } from "../../platform/database/schema.ts";
import { AdminPayment, edgeOf, type PaymentSearch } from "./payment-search.ts";

type Range = { from?: string | undefined; to?: string | undefined };

/** A value as a CSV cell: what the API's JSON says, with null empty and objects as JSON. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** The payments list's fields, in its order, one row per intent created in the range. */
export function paymentRows(search: PaymentSearch, orgId: number, range: Range) {
  const header = Object.keys(AdminPayment.shape);
  async function* rows() {
    for await (const p of search.all(orgId, range)) {
      const record = p as Record<string, unknown>;
      yield header.map((k) => cell(record[k]));
    }
  }
  return { header, rows: rows() };
}

export const WITHDRAWAL_COLUMNS = [
  "id",
  "created_at",
  "chain_id",
  "symbol",
  "amount",
  "from_address",
  "to_address",
  "status",
  "tx_hash",
] as const;

/**
 * Transfers from the organisation's hot wallet (the payouts API's; Studio's withdrawals go
 * through the same table) made in the range, oldest first. status is the chain transaction's
 * state, or "reserved" before it exists.
 */
export function withdrawalRows(db: Kysely<Database>, orgId: number, range: Range) {
  async function* rows() {
    const batch = 1000;
    let after: { at: string; id: string } | undefined;
    for (;;) {
      let query = db
        .selectFrom("payouts as p")
        .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
        .select([
          "p.id",
          "p.created_at",
          "p.chain_id",
          "p.symbol",
          "p.decimals",
          "p.amount",
          "p.from_address",
          "p.to_address",
          "t.state",
          "t.tx_hash",
        ])
        .select(sql<string>`p.created_at::text`.as("key_at"))
        .where("p.org_id", "=", orgId);
      if (range.from !== undefined)
        query = query.where("p.created_at", ">=", edgeOf(range.from, "from"));
      if (range.to !== undefined) query = query.where("p.created_at", "<", edgeOf(range.to, "to"));
      if (after) {
        const { at, id } = after;
        query = query.where(sql<boolean>`(p.created_at, p.id) > (${at}::timestamptz, ${id})`);
      }
      const found = await query.orderBy("p.created_at").orderBy("p.id").limit(batch).execute();
      for (const r of found) {
        yield [
          r.id,
          r.created_at.toISOString(),
          r.chain_id,
          r.symbol,
          formatTokenAmount(BigInt(r.amount), r.decimals),
          r.from_address,
          r.to_address,
          r.state ?? "reserved",
          r.tx_hash ?? "",
        ];
      }
      const last = found.at(-1);
      if (found.length < batch || !last) return;
      after = { at: last.key_at, id: last.id };
    }
  }
  return { header: [...WITHDRAWAL_COLUMNS], rows: rows() };
}
