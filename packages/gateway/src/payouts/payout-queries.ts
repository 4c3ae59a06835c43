import type { Kysely, Selectable, Transaction } from "kysely";
import { formatTokenAmount } from "../payments/money.ts";
import type { ChainTxState, Database, PayoutsTable } from "../platform/database/schema.ts";
import { IDEMPOTENCY_WINDOW_MS } from "../platform/idempotency.ts";
import type { TransferView } from "./transfer-schemas.ts";

type Db = Kysely<Database> | Transaction<Database>;

export const unixSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

export type PayoutRow = Selectable<PayoutsTable> & {
  tx_state: ChainTxState | null;
  tx_hash: string | null;
  tx_nonce: string | number | null;
  tx_block_number: string | number | null;
  tx_gas_used: string | null;
  tx_effective_gas_price: string | null;
  tx_error: string | null;
};

/** Chain transaction states that are sent (or about to be) and not yet mined. */
export const IN_FLIGHT_TX_STATES: ChainTxState[] = ["signed", "broadcast"];

/** Payouts beside their chain transaction (none while reserved and not yet signed). */
export const payoutsWithTx = (q: Db) =>
  q.selectFrom("payouts as p").leftJoin("chain_txs as t", "t.id", "p.chain_tx_id");

/**
 * An organisation's payouts that the on-chain balance does not show yet: reserved, or signed
 * and not yet mined. They are already spoken for.
 */
export const inFlightPayouts = (q: Db, orgId: number) =>
  payoutsWithTx(q)
    .where("p.org_id", "=", orgId)
    .where((eb) =>
      eb.or([eb("p.chain_tx_id", "is", null), eb("t.state", "in", IN_FLIGHT_TX_STATES)]),
    );

export const selectPayouts = (q: Db) =>
  payoutsWithTx(q)
    .selectAll("p")
    .select([
      "t.state as tx_state",
      "t.tx_hash as tx_hash",
      "t.nonce as tx_nonce",
      "t.block_number as tx_block_number",
      "t.gas_used as tx_gas_used",
      "t.effective_gas_price as tx_effective_gas_price",
      "t.error as tx_error",
    ]);

/** The payout an Idempotency-Key names, if it was used within the window. */
export async function findByIdempotencyKey(
  q: Db,
  where: { orgId: number; key: string; now: Date },
): Promise<PayoutRow | undefined> {
  return (await selectPayouts(q)
    .where("p.org_id", "=", where.orgId)
    .where("p.idempotency_key", "=", where.key)
    .where("p.created_at", ">=", new Date(where.now.getTime() - IDEMPOTENCY_WINDOW_MS))
    .executeTakeFirst()) as PayoutRow | undefined;
}

export function toTransferView(row: PayoutRow): TransferView {
  const status =
    row.tx_state === "confirmed" ? "confirmed" : row.tx_state === "failed" ? "failed" : "submitted";
  return {
    id: row.id,
    status,
    chain_id: row.chain_id,
    contract_address: row.token_address,
    symbol: row.symbol,
    amount: formatTokenAmount(BigInt(row.amount), row.decimals),
    wallet_address: row.to_address,
    from_address: row.from_address,
    tx_hash: row.tx_hash,
    transfer_time: unixSeconds(row.created_at),
    nonce: row.tx_nonce === null ? null : Number(row.tx_nonce),
    block_number: row.tx_block_number === null ? null : Number(row.tx_block_number),
    gas_used: row.tx_gas_used === null ? null : BigInt(row.tx_gas_used).toString(),
    effective_gas_price:
      row.tx_effective_gas_price === null ? null : BigInt(row.tx_effective_gas_price).toString(),
    error: row.tx_error,
  };
}
