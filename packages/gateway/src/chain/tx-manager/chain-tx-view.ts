import type { Kysely, Selectable } from "kysely";
import type { Address, Hex } from "viem";
import type {
  ChainTxPurpose,
  ChainTxState,
  ChainTxsTable,
  Database,
} from "../../platform/database/schema.ts";

export type ChainTxRow = Selectable<ChainTxsTable>;

export interface ChainTxView {
  id: number;
  idempotencyKey: string;
  purpose: ChainTxPurpose;
  chainKey: string;
  sender: Address;
  nonce: number;
  to: Address;
  value: bigint;
  data: Hex;
  txHash: Hex;
  state: ChainTxState;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  blockNumber: bigint | null;
  gasUsed: bigint | null;
  effectiveGasPrice: bigint | null;
  error: string | null;
  errorKind: string | null;
  createdAt: Date;
}

export function toChainTxView(row: ChainTxRow): ChainTxView {
  const big = (v: string | number | null) => (v === null ? null : BigInt(v));
  return {
    id: Number(row.id),
    idempotencyKey: row.idempotency_key,
    purpose: row.purpose,
    chainKey: row.chain_id,
    sender: row.sender as Address,
    nonce: Number(row.nonce),
    to: row.to_address as Address,
    value: BigInt(row.value),
    data: row.data as Hex,
    txHash: row.tx_hash as Hex,
    state: row.state,
    gasLimit: BigInt(row.gas_limit),
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    blockNumber: big(row.block_number),
    gasUsed: big(row.gas_used),
    effectiveGasPrice: big(row.effective_gas_price),
    error: row.error,
    errorKind: row.error_kind,
    createdAt: row.created_at,
  };
}

/** Reads of the manager's transactions, as callers see them. */
export function createChainTxViews(db: Kysely<Database>) {
  return {
    async byKey(key: string): Promise<ChainTxView | undefined> {
      const row = await db
        .selectFrom("chain_txs")
        .selectAll()
        .where("idempotency_key", "=", key)
        .executeTakeFirst();
      return row && toChainTxView(row);
    },
    async get(id: number): Promise<ChainTxView | undefined> {
      const row = await db
        .selectFrom("chain_txs")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row && toChainTxView(row);
    },
  };
}

export type ChainTxViews = ReturnType<typeof createChainTxViews>;
