import type { Kysely, Transaction } from "kysely";
import type { Database, LedgerAccountKind } from "../platform/database/schema.ts";

/** A place money can be, on one chain, in one asset ('native' or a token address). */
export interface LedgerAccount {
  kind: LedgerAccountKind;
  chainId: string;
  asset: string;
  address?: string | null | undefined;
  orgId?: number | null | undefined;
  paymentIntentId?: string | null | undefined;
}

export interface LedgerPosting {
  account: LedgerAccount;
  /** Base units, signed: what the account gains. */
  amount: bigint;
}

export interface LedgerEntry {
  /** The money event's own key: an entry is written once, whoever records it and however often. */
  ref: string;
  kind: string;
  chainId: string;
  /** The block of the on-chain event: balances are read at a height. */
  blockNumber: bigint;
  txHash?: string | null | undefined;
  orgId?: number | null | undefined;
  paymentIntentId?: string | null | undefined;
  memo: string;
  postings: LedgerPosting[];
}

/** The account kinds that are the gateway's own addresses: their balances are on chain. */
export const CONTROLLED_KINDS: readonly LedgerAccountKind[] = ["deposit", "hot", "gas", "fee"];

export const NATIVE = "native";

export class LedgerImbalanceError extends Error {
  override name = "LedgerImbalanceError";
}

export function accountKey(account: LedgerAccount): string {
  return [
    account.kind,
    account.chainId,
    account.asset.toLowerCase(),
    account.address?.toLowerCase() ?? "",
    account.orgId ?? "",
  ].join(":");
}

/**
 * Writes one balanced entry in the caller's transaction (the one that records the money event
 * itself). Returns false when the event's entry exists already. Postings of zero are dropped;
 * postings that do not sum to zero per asset are refused before anything is written.
 */
export async function postEntry(
  trx: Transaction<Database> | Kysely<Database>,
  entry: LedgerEntry,
): Promise<boolean> {
  const postings = entry.postings.filter((p) => p.amount !== 0n);
  const sums = new Map<string, bigint>();
  for (const p of postings) {
    const asset = p.account.asset.toLowerCase();
    if (p.account.chainId !== entry.chainId)
      throw new LedgerImbalanceError(`${entry.ref}: a posting on another chain`);
    sums.set(asset, (sums.get(asset) ?? 0n) + p.amount);
  }
  for (const [asset, sum] of sums) {
    if (sum !== 0n)
      throw new LedgerImbalanceError(`${entry.ref}: postings in ${asset} sum to ${sum}, not 0`);
  }
  const inserted = await trx
    .insertInto("ledger_entries")
    .values({
      ref: entry.ref,
      kind: entry.kind,
      chain_id: entry.chainId,
      block_number: entry.blockNumber,
      tx_hash: entry.txHash ?? null,
      org_id: entry.orgId ?? null,
      payment_intent_id: entry.paymentIntentId ?? null,
      memo: entry.memo,
    })
    .onConflict((oc) => oc.column("ref").doNothing())
    .returning("id")
    .executeTakeFirst();
  if (!inserted) return false;
  for (const p of postings) {
    const accountId = await accountIdOf(trx, p.account);
    await trx
      .insertInto("ledger_postings")
      .values({ entry_id: String(inserted.id), account_id: accountId, amount: p.amount })
      .execute();
  }
  return true;
}

async function accountIdOf(
  trx: Transaction<Database> | Kysely<Database>,
  account: LedgerAccount,
): Promise<string> {
  const key = accountKey(account);
  // The no-op update makes RETURNING answer for an account that exists already.
  const row = await trx
    .insertInto("ledger_accounts")
    .values({
      key,
      kind: account.kind,
      chain_id: account.chainId,
      asset: account.asset.toLowerCase(),
      address: account.address?.toLowerCase() ?? null,
      org_id: account.orgId ?? null,
      payment_intent_id: account.paymentIntentId ?? null,
    })
    .onConflict((oc) => oc.column("key").doUpdateSet({ key }))
    .returning("id")
    .executeTakeFirstOrThrow();
  return String(row.id);
}
