import type { Kysely, Selectable, Transaction } from "kysely";
import { type Address, decodeFunctionData, encodeFunctionData, erc20Abi, type Hex } from "viem";
import type { ChainTxsTable, Database, SweepsTable } from "../platform/database/schema.ts";
import type { AddressBook, AddressOwner } from "./address-book.ts";
import {
  type LedgerAccount,
  type LedgerEntry,
  type LedgerPosting,
  NATIVE,
  postEntry,
} from "./journal.ts";

/**
 * The ledger entries of the gateway's money events, each written in the transaction that
 * records the event: a payment confirmed (or reversed by a deep reorg), a deposit from outside
 * into one of the gateway's wallets, and every chain transaction the gateway sends once it is
 * confirmed (its token or native transfer and the gas it burnt; a reverted one only its gas).
 */

export interface ConfirmedTransfer {
  tx_hash: string;
  log_index: number;
  token_address: string;
  from_address: string;
  to_address: string;
  amount: string | bigint;
  block_number: string | number | bigint;
  block_hash: string;
  payment_intent_id: string;
}

/** Payments confirmed: from the payer to the intent's deposit address. */
export async function recordPayments(
  trx: Transaction<Database>,
  chainKey: string,
  transfers: readonly ConfirmedTransfer[],
): Promise<void> {
  await recordTransfers(trx, chainKey, transfers, "payment");
}

/**
 * Confirmed payments a deep reorg took back: the reverse entry, at the same block as the payment
 * (a balance read at any height counts both or neither).
 */
export async function recordReversedPayments(
  trx: Transaction<Database>,
  chainKey: string,
  transfers: readonly ConfirmedTransfer[],
): Promise<void> {
  await recordTransfers(trx, chainKey, transfers, "payment_reversed");
}

async function recordTransfers(
  trx: Transaction<Database>,
  chainKey: string,
  transfers: readonly ConfirmedTransfer[],
  kind: "payment" | "payment_reversed",
): Promise<void> {
  if (transfers.length === 0) return;
  const ids = [...new Set(transfers.map((t) => t.payment_intent_id))];
  const intents = await trx
    .selectFrom("payment_intents")
    .select(["id", "org_id", "symbol", "decimals"])
    .where("id", "in", ids)
    .execute();
  const byId = new Map(intents.map((i) => [i.id, i]));
  for (const t of transfers) {
    const intent = byId.get(t.payment_intent_id);
    const asset = t.token_address.toLowerCase();
    const deposit: LedgerAccount = {
      kind: "deposit",
      chainId: chainKey,
      asset,
      address: t.to_address,
      orgId: intent?.org_id,
      paymentIntentId: t.payment_intent_id,
    };
    const payer: LedgerAccount = { kind: "payer", chainId: chainKey, asset };
    const amount = BigInt(t.amount);
    const sign = kind === "payment" ? 1n : -1n;
    await postEntry(trx, {
      ref: `${kind}:${chainKey}:${t.tx_hash.toLowerCase()}:${t.log_index}:${t.block_hash.toLowerCase()}`,
      kind,
      chainId: chainKey,
      blockNumber: BigInt(t.block_number),
      txHash: t.tx_hash,
      orgId: intent?.org_id,
      paymentIntentId: t.payment_intent_id,
      memo:
        kind === "payment"
          ? `payment of ${amount} base units from ${t.from_address}`
          : `payment of ${amount} base units from ${t.from_address} reversed by a deep reorg`,
      postings: [
        { account: deposit, amount: sign * amount },
        { account: payer, amount: -sign * amount },
      ],
    });
  }
}

export type WalletDeposit = Omit<ConfirmedTransfer, "payment_intent_id">;

/** Tokens sent from outside into a gateway wallet (the operator funding payouts), confirmed. */
export async function recordWalletDeposits(
  trx: Transaction<Database>,
  chainKey: string,
  deposits: readonly WalletDeposit[],
  owners: ReadonlyMap<string, AddressOwner>,
  kind: "wallet_funding" | "wallet_funding_reversed" = "wallet_funding",
): Promise<void> {
  for (const d of deposits) {
    const owner = owners.get(d.to_address.toLowerCase());
    if (!owner) continue;
    const asset = d.token_address.toLowerCase();
    const amount = BigInt(d.amount) * (kind === "wallet_funding" ? 1n : -1n);
    await postEntry(trx, {
      ref: `${kind}:${chainKey}:${d.tx_hash.toLowerCase()}:${d.log_index}:${d.block_hash.toLowerCase()}`,
      kind,
      chainId: chainKey,
      blockNumber: BigInt(d.block_number),
      txHash: d.tx_hash,
      orgId: owner.orgId,
      memo: `${BigInt(d.amount)} base units from ${d.from_address} into the ${owner.kind} wallet`,
      postings: [
        { account: { ...ownerAccount(owner, chainKey, asset), address: d.to_address }, amount },
        { account: { kind: "funding", chainId: chainKey, asset }, amount: -amount },
      ],
    });
  }
}

/**
 * A chain transaction the gateway sent, now confirmed (or mined and reverted): what left the
 * sender and where it went, and the gas it burnt. Written with the transaction's final state.
 */
export async function recordChainTx(
  trx: Transaction<Database>,
  row: Selectable<ChainTxsTable>,
  book: AddressBook,
): Promise<void> {
  const entry = await chainTxEntry(trx, row, book);
  if (entry) await postEntry(trx, entry);
}

/** The entry a mined chain transaction makes (reconcile also counts one not yet confirmed). */
export async function chainTxEntry(
  trx: Transaction<Database> | Kysely<Database>,
  row: Selectable<ChainTxsTable>,
  book: AddressBook,
): Promise<LedgerEntry | undefined> {
  if (row.block_number === null) return undefined;
  const chainId = row.chain_id;
  const sender = await book.owner(trx, chainId, row.sender);
  const from = (asset: string): LedgerAccount =>
    sender
      ? { ...ownerAccount(sender, chainId, asset), address: row.sender }
      : { kind: "external", chainId, asset, address: row.sender };
  const to = async (address: string, asset: string): Promise<LedgerAccount> => {
    const owner = await book.owner(trx, chainId, address);
    if (owner) return { ...ownerAccount(owner, chainId, asset), address };
    // Not ours: where the purpose says the money went.
    const kind =
      row.purpose === "refund"
        ? "payer"
        : row.purpose === "payout"
          ? "payee"
          : row.purpose === "collection"
            ? "treasury"
            : "external";
    return kind === "treasury"
      ? { kind, chainId, asset, address, orgId: sender?.orgId }
      : { kind, chainId, asset, ...(kind === "external" ? { address } : {}) };
  };

  const postings: LedgerPosting[] = [];
  const gas =
    row.gas_used !== null && row.effective_gas_price !== null
      ? BigInt(row.gas_used) * BigInt(row.effective_gas_price)
      : 0n;
  postings.push({ account: from(NATIVE), amount: -gas });
  postings.push({ account: { kind: "gas_burnt", chainId, asset: NATIVE }, amount: gas });
  const reverted = row.error_kind === "reverted";
  let recipient: LedgerAccount | undefined;
  if (!reverted) {
    const value = BigInt(row.value);
    if (value > 0n) {
      recipient = await to(row.to_address, NATIVE);
      postings.push({ account: from(NATIVE), amount: -value });
      postings.push({ account: recipient, amount: value });
    }
    const transfer = decodeTransfer(row.data as Hex);
    if (transfer) {
      const asset = row.to_address.toLowerCase();
      recipient = await to(transfer.to, asset);
      postings.push({ account: from(asset), amount: -transfer.amount });
      postings.push({ account: recipient, amount: transfer.amount });
    }
  }
  return {
    ref: `chain-tx:${row.id}`,
    kind: reverted ? `${row.purpose}_reverted` : row.purpose,
    chainId,
    blockNumber: BigInt(row.block_number),
    txHash: row.tx_hash,
    orgId: sender?.orgId ?? recipient?.orgId,
    paymentIntentId: sender?.paymentIntentId ?? recipient?.paymentIntentId,
    memo: `${row.purpose} ${row.tx_hash}${reverted ? " (reverted: gas only)" : ""}`,
    postings,
  };
}

function ownerAccount(owner: AddressOwner, chainId: string, asset: string): LedgerAccount {
  return {
    kind: owner.kind,
    chainId,
    asset,
    orgId: owner.orgId,
    paymentIntentId: owner.paymentIntentId,
  };
}

function decodeTransfer(data: Hex): { to: string; amount: bigint } | undefined {
  if (data === "0x" || data.length < 10) return undefined;
  try {
    const call = decodeFunctionData({ abi: erc20Abi, data });
    if (call.functionName !== "transfer") return undefined;
    const [to, amount] = call.args;
    return { to, amount };
  } catch {
    return undefined;
  }
}

/**
 * One sweep of a confirmed batch (treasury/sweep-deposit-accounts.ts): the token transfer it
 * made from its deposit address. The batch's own entry (recordChainTx) holds only its gas, burnt
 * by the gas wallet, as the sweepMany call is no ERC-20 transfer.
 */
export async function postSweep(
  trx: Transaction<Database>,
  sweep: Selectable<SweepsTable>,
  batch: { id: number; txHash: string; blockNumber: bigint | null },
  book: AddressBook,
): Promise<void> {
  if (batch.blockNumber === null) return;
  // The entry a transaction of its own would make, without gas: the same accounts by purpose.
  const entry = await chainTxEntry(
    trx,
    {
      id: batch.id,
      idempotency_key: sweep.idempotency_key,
      purpose: sweep.purpose,
      chain_id: sweep.chain_id,
      sender: sweep.deposit_address,
      nonce: "0",
      to_address: sweep.token_address,
      value: "0",
      data: encodeFunctionData({
        abi: erc20Abi,
        functionName: "transfer",
        args: [sweep.to_address as Address, BigInt(sweep.amount)],
      }),
      gas_limit: "0",
      max_fee_per_gas: "0",
      max_priority_fee_per_gas: "0",
      tx_hash: batch.txHash,
      raw_tx: "0x",
      state: "confirmed",
      broadcast_block: null,
      block_number: String(batch.blockNumber),
      block_hash: null,
      gas_used: "0",
      effective_gas_price: "0",
      error_kind: null,
      error: null,
      authorization_list: null,
      created_at: new Date(),
      updated_at: new Date(),
    },
    book,
  );
  if (entry)
    await postEntry(trx, {
      ...entry,
      ref: `sweep:${sweep.id}`,
      memo: `sweep ${sweep.idempotency_key} in ${batch.txHash}`,
    });
}
