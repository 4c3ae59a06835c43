import { sql, type Transaction } from "kysely";
import { type Address, formatEther, type PublicClient } from "viem";
import { classifyTxError } from "../chain/tx-manager/classify-error.ts";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import { tokenBalanceOf, transferCalldata } from "./erc20.ts";
import { IN_FLIGHT_TX_STATES, inFlightPayouts } from "./payout-queries.ts";
import { balanceNotEnough, chainUnavailable, gasNotEnough } from "./transfer-errors.ts";
import type { ValidatedTransfer } from "./validate-transfer.ts";

/** The token refused the transfer at estimation: a balance moved away since we read it. */
export async function rejectedByToken(
  client: PublicClient,
  v: ValidatedTransfer,
  from: Address,
  cause: unknown,
): Promise<DomainError> {
  const balance = await tokenBalanceOf(client, v.token.address, from).catch(() => undefined);
  if (balance !== undefined && balance < v.amount) {
    return balanceNotEnough(formatTokenAmount(v.amount - balance, v.token.decimals));
  }
  return new DomainError({
    status: 400,
    code: ErrorCode.validation,
    message: `wallet_address: the token contract refuses this transfer (${classifyTxError(cause).message})`,
    data: { field: "wallet_address" },
    cause,
  });
}

/**
 * Can the hot wallet pay this transfer, token and gas? Counted as already spent: payouts reserved
 * or signed but not yet mined (the on-chain balance does not show them yet); mined ones are in
 * the balance. The in-flight sums are read before the balance: a payout mined in between is then
 * counted twice (too cautious), never not at all.
 */
export function createBalanceCheck({
  txManager,
}: {
  txManager: Pick<TxManager, "estimate" | "client">;
}) {
  return async function checkBalances(
    trx: Transaction<Database>,
    orgId: number,
    from: Address,
    v: ValidatedTransfer,
  ): Promise<void> {
    const tokenInFlight = await inFlightPayouts(trx, orgId)
      .select(sql<string | null>`sum(p.amount)`.as("total"))
      .where("p.chain_id", "=", v.chain.key)
      .where(sql<boolean>`lower(p.token_address) = ${v.token.address.toLowerCase()}`)
      .executeTakeFirstOrThrow();
    const nativeInFlight = await trx
      .selectFrom("chain_txs")
      .select(sql<string | null>`sum(gas_limit * max_fee_per_gas + value)`.as("total"))
      .where("chain_id", "=", v.chain.key)
      .where(sql<boolean>`lower(sender) = ${from.toLowerCase()}`)
      .where("state", "in", IN_FLIGHT_TX_STATES)
      .executeTakeFirstOrThrow();
    // Reserved, not yet signed: no gas figure is stored for them yet.
    const unsent = await trx
      .selectFrom("payouts")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("org_id", "=", orgId)
      .where("chain_id", "=", v.chain.key)
      .where("chain_tx_id", "is", null)
      .executeTakeFirstOrThrow();

    const client = txManager.client(v.chain.key);
    let tokenBalance: bigint;
    try {
      tokenBalance = await tokenBalanceOf(client, v.token.address, from);
    } catch (err) {
      throw chainUnavailable(v.chain.key, err);
    }
    const needed = BigInt(tokenInFlight.total ?? "0") + v.amount;
    if (tokenBalance < needed) {
      throw balanceNotEnough(formatTokenAmount(needed - tokenBalance, v.token.decimals));
    }

    // What the transaction manager will sign with: the most this transfer can cost in gas.
    let cost: bigint;
    let nativeBalance: bigint;
    try {
      const [estimate, balance] = await Promise.all([
        txManager.estimate({
          chainKey: v.chain.key,
          from,
          to: v.token.address,
          data: transferCalldata(v),
        }),
        client.getBalance({ address: from }),
      ]);
      cost = estimate.maxCost;
      nativeBalance = balance;
    } catch (err) {
      const { kind } = classifyTxError(err);
      if (kind === "insufficient_funds") throw gasNotEnough(from, v.chain.key);
      if (kind === "reverted") throw await rejectedByToken(client, v, from, err);
      throw chainUnavailable(v.chain.key, err);
    }
    const nativeNeeded =
      BigInt(nativeInFlight.total ?? "0") + BigInt(Number(unsent.n)) * cost + cost;
    if (nativeBalance < nativeNeeded) {
      throw gasNotEnough(from, v.chain.key, formatEther(nativeNeeded - nativeBalance));
    }
  };
}
