import type { Kysely } from "kysely";
import { type Address, encodeFunctionData, erc20Abi, formatEther } from "viem";
import {
  type ChainTxView,
  type TxManager,
  TxRejectedError,
  type TxRequest,
} from "../chain/tx-manager/tx-manager.ts";
import type { Wallets } from "../chain/wallets.ts";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import { gasCovered, gasTopUpAmount } from "./rules.ts";

export interface DepositTransferRequest {
  chainKey: string;
  /** The intent's deposit_index: its deposit address holds the tokens. */
  depositIndex: number;
  token: Address;
  to: Address;
  amount: bigint;
  purpose: "refund" | "collection" | "fee";
  /** The decision's key: one key, one token transfer, however often this is called. */
  idempotencyKey: string;
  /** Checked in the transaction that signs the token transfer (TxRequest.precondition). */
  precondition?: TxRequest["precondition"];
}

export type DepositTransferStep =
  | {
      state: "waiting";
      reason: string;
      /** When asking again is worth it (a sweep's batch is not due before); default: the interval. */
      retryAfterMs?: number;
      /**
       * The address's other transfers may be asked for meanwhile (a sweep: they go out in one
       * batch). Without it, one transfer per address at a time (a top-up covers one transfer).
       */
      concurrent?: boolean;
    }
  | { state: "submitted"; tx: ChainTxView };

/**
 * How a deposit address sends its tokens. Refunds and collections only ask for a token transfer
 * and call again while the answer is "waiting"; how the address gets able to pay for it is the
 * strategy's business. Today the gas wallet tops the address up with native coin; an EIP-7702
 * delegation or a CREATE2 forwarder (a sponsor pays, the address needs no coin) would implement
 * this same interface.
 */
export interface DepositAccounts {
  /** One step toward sending; never sends the same key twice. Throws DepositTransferError. */
  transfer(request: DepositTransferRequest): Promise<DepositTransferStep>;
  /** The transfer is mined: record what it cost to make it possible. */
  settled(tx: ChainTxView): Promise<void>;
}

/** A transfer cannot go ahead until a person acts (fund the gas wallet) or the chain changes. */
export class DepositTransferError extends DomainError {
  constructor(message: string) {
    super({ status: 503, code: ErrorCode.internal, message });
    this.name = "DepositTransferError";
  }
}

const OPEN_STATES = ["signed", "broadcast", "mined"] as const;

/**
 * The top-up strategy: before a deposit address sends a token transfer, the gas wallet sends it
 * just enough native coin for that transfer's estimated gas at the current max fee (plus
 * `headroomPercent`), and the transfer is signed only once the top-up is confirmed. One outgoing
 * transfer per deposit address at a time, so its balance is always what the next one needs.
 */
export function createGasTopUpDepositAccounts(options: {
  db: Kysely<Database>;
  txManager: Pick<TxManager, "submit" | "byKey" | "get" | "estimate" | "client">;
  wallets: Pick<Wallets, "depositAccount" | "gasWallet">;
  headroomPercent?: number;
}): DepositAccounts {
  const { db, txManager, wallets } = options;
  const headroom = options.headroomPercent ?? 25;

  const client = (chainKey: string) => txManager.client(chainKey);

  async function recordTopUp(
    trx: Kysely<Database>,
    request: DepositTransferRequest,
    depositAddress: Address,
    tx: ChainTxView,
  ): Promise<void> {
    await trx
      .insertInto("gas_topups")
      .values({
        chain_tx_id: tx.id,
        chain_id: request.chainKey,
        deposit_address: depositAddress,
        for_key: request.idempotencyKey,
        amount: tx.value,
      })
      .onConflict((oc) => oc.column("chain_tx_id").doNothing())
      .execute();
  }

  async function topUp(
    request: DepositTransferRequest,
    depositAddress: Address,
    value: bigint,
  ): Promise<DepositTransferStep> {
    const previous = await db
      .selectFrom("gas_topups")
      .innerJoin("chain_txs", "chain_txs.id", "gas_topups.chain_tx_id")
      .select(["chain_txs.state", "chain_txs.tx_hash"])
      .where("gas_topups.for_key", "=", request.idempotencyKey)
      .orderBy("gas_topups.id")
      .execute();
    const last = previous.at(-1);
    if (last && (OPEN_STATES as readonly string[]).includes(last.state)) {
      return { state: "waiting", reason: `gas top-up ${last.tx_hash} is confirming` };
    }
    const c = client(request.chainKey);
    const gasWallet = wallets.gasWallet();
    const funds = await c.getBalance({ address: gasWallet.address });
    // The top-up's own cost as the manager will sign it (not a fixed 21000 gas: L2s charge more).
    const cost = await txManager.estimate({
      chainKey: request.chainKey,
      from: gasWallet.address,
      to: depositAddress,
      value,
    });
    const needed = value + cost.maxCost;
    if (funds < needed) {
      throw new DepositTransferError(
        `gas wallet ${gasWallet.address} holds ${formatEther(funds)} native coin on ${request.chainKey}; ` +
          `${formatEther(needed)} is needed to top up deposit address ${depositAddress} for ${request.idempotencyKey}: fund the gas wallet`,
      );
    }
    // Numbered, so a top-up that failed, or one that no longer covers a risen fee, is followed by
    // another rather than returned again by its idempotency key.
    const key = `topup:${request.idempotencyKey}:${previous.length + 1}`;
    let tx: ChainTxView;
    try {
      tx = await txManager.submit({
        chainKey: request.chainKey,
        from: gasWallet,
        to: depositAddress,
        value,
        gasLimit: cost.gasLimit,
        fees: { maxFeePerGas: cost.maxFeePerGas, maxPriorityFeePerGas: cost.maxPriorityFeePerGas },
        purpose: "gas_topup",
        idempotencyKey: key,
        // With the transaction, not after it: a top-up stored and sent by a process killed
        // before its row was written went unrecorded, and once it was mined the deposit address
        // had its gas, so no later step wrote the row either (found by the chaos run).
        recordWith: (trx, stored) => recordTopUp(trx, request, depositAddress, stored),
      });
    } catch (err) {
      if (err instanceof TxRejectedError) {
        throw new DepositTransferError(
          `gas top-up of ${depositAddress} from ${gasWallet.address} on ${request.chainKey} refused (${err.kind}): ${err.message}`,
        );
      }
      throw err;
    }
    // Also here: a top-up stored before recordWith existed has no row yet.
    await recordTopUp(db, request, depositAddress, tx);
    return { state: "waiting", reason: `gas top-up ${tx.txHash} sent` };
  }

  return {
    async transfer(request) {
      const existing = await txManager.byKey(request.idempotencyKey);
      if (existing) return { state: "submitted", tx: existing };
      const account = wallets.depositAccount(request.depositIndex);
      const open = await db
        .selectFrom("chain_txs")
        .select(["purpose", "tx_hash"])
        .where("chain_id", "=", request.chainKey)
        .where("sender", "=", account.address)
        .where("state", "in", OPEN_STATES)
        .executeTakeFirst();
      if (open) {
        return {
          state: "waiting",
          reason: `the deposit address's ${open.purpose} transaction ${open.tx_hash} is confirming`,
        };
      }
      const c = client(request.chainKey);
      const data = encodeFunctionData({
        abi: erc20Abi,
        functionName: "transfer",
        args: [request.to, request.amount],
      });
      let gasLimit: bigint;
      let maxFee: bigint;
      let tip: bigint;
      try {
        // Estimated without fee fields, so the node does not check the (empty) native balance.
        const estimate = await txManager.estimate({
          chainKey: request.chainKey,
          from: account.address,
          to: request.token,
          data,
        });
        gasLimit = estimate.gasLimit;
        maxFee = estimate.maxFeePerGas;
        tip = estimate.maxPriorityFeePerGas;
      } catch (err) {
        throw new DepositTransferError(
          `${request.idempotencyKey}: the token transfer of ${request.amount} from ${account.address} would fail (${(err as Error).message.split("\n")[0]})`,
        );
      }
      const balance = await c.getBalance({ address: account.address });
      if (!gasCovered(balance, gasLimit, maxFee)) {
        return topUp(request, account.address, gasTopUpAmount(balance, gasLimit, maxFee, headroom));
      }
      let tx: ChainTxView;
      try {
        tx = await txManager.submit({
          chainKey: request.chainKey,
          from: account,
          to: request.token,
          data,
          gasLimit,
          // The fees the balance was just checked against: fresh ones could be more than it holds.
          fees: { maxFeePerGas: maxFee, maxPriorityFeePerGas: tip },
          purpose: request.purpose,
          idempotencyKey: request.idempotencyKey,
          precondition: request.precondition,
        });
      } catch (err) {
        if (err instanceof TxRejectedError) {
          throw new DepositTransferError(
            `${request.idempotencyKey}: refused (${err.kind}): ${err.message}`,
          );
        }
        throw err;
      }
      await db
        .updateTable("gas_topups")
        .set({ funded_chain_tx_id: tx.id })
        .where("for_key", "=", request.idempotencyKey)
        .execute();
      return { state: "submitted", tx };
    },

    async settled(tx) {
      const topups = await db
        .selectFrom("gas_topups")
        .innerJoin("chain_txs", "chain_txs.id", "gas_topups.chain_tx_id")
        .select(["gas_topups.id", "chain_txs.gas_used", "chain_txs.effective_gas_price"])
        .where("gas_topups.for_key", "=", tx.idempotencyKey)
        .orderBy("gas_topups.id")
        .execute();
      const last = topups.at(-1);
      for (const t of topups) {
        const topupCost =
          t.gas_used === null || t.effective_gas_price === null
            ? null
            : BigInt(t.gas_used) * BigInt(t.effective_gas_price);
        const transferCost =
          t === last && tx.gasUsed !== null && tx.effectiveGasPrice !== null
            ? tx.gasUsed * tx.effectiveGasPrice
            : null;
        await db
          .updateTable("gas_topups")
          .set({ funded_chain_tx_id: tx.id, topup_cost: topupCost, transfer_cost: transferCost })
          .where("id", "=", t.id)
          .execute();
      }
    },
  };
}
