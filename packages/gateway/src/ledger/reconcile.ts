import { type Kysely, sql } from "kysely";
import { type Address, BaseError, erc20Abi, type PublicClient } from "viem";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { Database } from "../platform/database/schema.ts";
import type { AddressBook } from "./address-book.ts";
import { accountKey, CONTROLLED_KINDS, type LedgerAccount, NATIVE } from "./journal.ts";
import { chainTxEntry } from "./money-events.ts";

export interface AccountCheck {
  chain: string;
  block: string;
  kind: string;
  address: string;
  asset: string;
  org_id: number | null;
  payment_intent_id: string | null;
  ledger: string;
  /** null when the chain could not be read for it (see `error`). */
  onchain: string | null;
  difference: string | null;
  /** Why the chain's balance could not be read (a token with no contract at its address). */
  error?: string;
  /** False for native coin on the gateway's wallets: the operator funds them from outside, unseen. */
  compared: boolean;
  /** The account's latest entries, where there is a difference. */
  entries?: Array<{ id: string; ref: string; kind: string; block: string; amount: string }>;
}

export interface IntentCheck {
  payment_intent_id: string;
  chain: string;
  asset: string;
  received: string;
  refunded: string;
  collected: string;
  fee: string;
  held: string;
  problems: string[];
}

export interface ReconcileReport {
  ok: boolean;
  at: string;
  chains: Array<{ chain: string; block: string | null; note?: string }>;
  accounts: AccountCheck[];
  intents: IntentCheck[];
  unbalanced_entries: Array<{ id: string; ref: string; asset: string; sum: string }>;
  differences: number;
}

/**
 * The ledger against the chain, for every address the gateway controls and every token, at one
 * block per chain: the last block the watcher has confirmed (everything at or below it that the
 * gateway did is in the ledger, read in one snapshot with that block). Transactions mined at or
 * below it whose confirmation the tx manager has not recorded yet count as if recorded. Per
 * intent: received = refunded + collected + fee + still held, and the intent's own amounts agree.
 * Read-only: it runs beside a live gateway.
 */
export function createReconciler(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  book: AddressBook;
  client: (chainKey: string) => PublicClient;
  now?: () => Date;
}) {
  const { db, chains, book, client } = options;

  async function reconcileChain(chainKey: string, report: ReconcileReport): Promise<void> {
    const snapshot = await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (trx) => {
        const top = await trx
          .selectFrom("chain_blocks")
          .select("number")
          .where("chain_id", "=", chainKey)
          .where("finalized", "=", true)
          .orderBy("number", "desc")
          .executeTakeFirst();
        if (!top) return undefined;
        const block = BigInt(top.number);
        const balances = await trx
          .selectFrom("ledger_postings as p")
          .innerJoin("ledger_entries as e", "e.id", "p.entry_id")
          .innerJoin("ledger_accounts as a", "a.id", "p.account_id")
          .select(["a.key", "a.kind", "a.asset", "a.address", "a.org_id", "a.payment_intent_id"])
          .select(sql<string>`sum(p.amount)`.as("balance"))
          .where("e.chain_id", "=", chainKey)
          .where("e.block_number", "<=", block.toString())
          .where("a.kind", "in", [...CONTROLLED_KINDS])
          .groupBy(["a.key", "a.kind", "a.asset", "a.address", "a.org_id", "a.payment_intent_id"])
          .execute();
        // Mined at or below the block, confirmation not yet recorded: counted as if it were.
        const mined = await trx
          .selectFrom("chain_txs")
          .selectAll()
          .where("chain_id", "=", chainKey)
          .where("state", "=", "mined")
          .where("block_number", "<=", block.toString())
          .execute();
        const pending = [];
        for (const row of mined) {
          const entry = await chainTxEntry(trx, row, book);
          if (entry) pending.push(entry);
        }
        // Deposit addresses that were paid but have no ledger account (a payment never recorded).
        const paid = await trx
          .selectFrom("transfers")
          .innerJoin("payment_intents as i", "i.id", "transfers.payment_intent_id")
          .select(["i.id", "i.org_id", "i.payment_address", "i.token_address"])
          .distinct()
          .where("transfers.chain_id", "=", chainKey)
          .where("transfers.block_number", "<=", block.toString())
          .execute();
        const intents = await trx
          .selectFrom("payment_intents")
          .select(["id", "received_amount", "late_amount", "refund_amount", "late_refund_amount"])
          .select(["aggregated_amount", "reversed_at"])
          .where("id", "in", [...new Set(paid.map((p) => p.id)), ""])
          .execute();
        const flows = await trx
          .selectFrom("ledger_postings as p")
          .innerJoin("ledger_entries as e", "e.id", "p.entry_id")
          .innerJoin("ledger_accounts as a", "a.id", "p.account_id")
          .select(["a.payment_intent_id", "a.asset", "e.kind"])
          .select(sql<string>`sum(p.amount)`.as("amount"))
          .where("e.chain_id", "=", chainKey)
          .where("e.block_number", "<=", block.toString())
          .where("a.kind", "=", "deposit")
          .groupBy(["a.payment_intent_id", "a.asset", "e.kind"])
          .execute();
        return { block, balances, pending, paid, intents, flows };
      });
    if (!snapshot) {
      report.chains.push({ chain: chainKey, block: null, note: "nothing confirmed yet" });
      return;
    }
    const { block, balances, pending, paid, intents, flows } = snapshot;
    report.chains.push({ chain: chainKey, block: block.toString() });

    interface Row {
      account: LedgerAccount & { address: string };
      ledger: bigint;
      compared: boolean;
    }
    const rows = new Map<string, Row>();
    const add = (account: LedgerAccount & { address: string }, amount: bigint, compared = true) => {
      const key = accountKey(account);
      const row = rows.get(key) ?? { account, ledger: 0n, compared };
      row.ledger += amount;
      rows.set(key, row);
    };
    for (const b of balances) {
      add(
        {
          kind: b.kind,
          chainId: chainKey,
          asset: b.asset,
          address: b.address ?? "",
          orgId: b.org_id,
          paymentIntentId: b.payment_intent_id,
        },
        BigInt(b.balance),
      );
    }
    for (const entry of pending) {
      for (const p of entry.postings) {
        if (!CONTROLLED_KINDS.includes(p.account.kind) || !p.account.address) continue;
        add({ ...p.account, address: p.account.address }, p.amount);
      }
    }
    for (const p of paid) {
      const deposit = {
        kind: "deposit" as const,
        chainId: chainKey,
        address: p.payment_address.toLowerCase(),
        orgId: p.org_id,
        paymentIntentId: p.id,
      };
      add({ ...deposit, asset: p.token_address.toLowerCase() }, 0n);
      add({ ...deposit, asset: NATIVE }, 0n);
    }
    // Every token of the chain on every wallet; their native coin is shown, not compared.
    const chain = chains.get(chainKey);
    for (const [address, owner] of await book.wallets(db)) {
      const wallet = { kind: owner.kind, chainId: chainKey, address, orgId: owner.orgId };
      for (const token of chain.tokens) add({ ...wallet, asset: token.address.toLowerCase() }, 0n);
      add({ ...wallet, asset: NATIVE }, 0n, false);
    }
    for (const row of rows.values()) {
      if (row.account.kind !== "deposit" && row.account.asset === NATIVE) row.compared = false;
    }

    const onchain = await balancesAt(
      client(chainKey),
      block,
      [...rows.values()].map((r) => r.account),
    );
    const differing: Row[] = [];
    [...rows.values()].forEach((row, i) => {
      const read = onchain[i];
      const unreadable = read === undefined || typeof read === "string";
      const difference = unreadable ? null : read - row.ledger;
      // Unreadable and nothing in the ledger (a registered token absent on this chain): shown,
      // not a difference; unreadable with a ledger balance cannot be verified: a difference.
      if (row.compared && (unreadable ? row.ledger !== 0n : difference !== 0n)) differing.push(row);
      report.accounts.push({
        chain: chainKey,
        block: block.toString(),
        kind: row.account.kind,
        address: row.account.address,
        asset: row.account.asset,
        org_id: row.account.orgId ?? null,
        payment_intent_id: row.account.paymentIntentId ?? null,
        ledger: row.ledger.toString(),
        onchain: unreadable ? null : read.toString(),
        difference: difference === null ? null : difference.toString(),
        compared: row.compared && !(unreadable && row.ledger === 0n),
        ...(unreadable ? { error: typeof read === "string" ? read : "no answer" } : {}),
      });
    });
    for (const row of differing) {
      const check = report.accounts.find(
        (a) =>
          a.chain === chainKey &&
          a.address === row.account.address &&
          a.asset === row.account.asset &&
          a.kind === row.account.kind,
      );
      if (check) check.entries = await latestEntries(accountKey(row.account));
      report.differences += 1;
    }

    // Per intent, token flows through its deposit address.
    const byIntent = new Map<string, Map<string, bigint>>();
    for (const f of flows) {
      if (!f.payment_intent_id || f.asset === NATIVE) continue;
      const kinds = byIntent.get(f.payment_intent_id) ?? new Map<string, bigint>();
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0n) + BigInt(f.amount));
      byIntent.set(f.payment_intent_id, kinds);
    }
    const intentRows = new Map(intents.map((i) => [i.id, i]));
    for (const p of paid) {
      const kinds = byIntent.get(p.id) ?? new Map<string, bigint>();
      const of = (k: string) => kinds.get(k) ?? 0n;
      const received = of("payment") + of("payment_reversed");
      const refunded = -of("refund");
      const collected = -of("collection");
      const fee = -of("fee");
      let other = 0n;
      for (const [k, v] of kinds) {
        if (!["payment", "payment_reversed", "refund", "collection", "fee"].includes(k)) other += v;
      }
      const held = received - refunded - collected - fee + other;
      const problems: string[] = [];
      if (other !== 0n)
        problems.push(`${other} base units moved on the deposit address by other entries`);
      const heldOnChain = report.accounts.find(
        (a) =>
          a.chain === chainKey &&
          a.payment_intent_id === p.id &&
          a.asset === p.token_address.toLowerCase(),
      );
      if (heldOnChain && heldOnChain.onchain !== null && BigInt(heldOnChain.onchain) !== held)
        problems.push(`holds ${heldOnChain.onchain} on chain, the ledger says ${held}`);
      const intent = intentRows.get(p.id);
      const big = (v: string | null) => BigInt(v ?? 0);
      if (intent && intent.reversed_at === null) {
        const recorded = big(intent.received_amount) + big(intent.late_amount);
        if (recorded !== received)
          problems.push(`the intent records ${recorded} received, the ledger ${received}`);
        const refundRecorded = big(intent.refund_amount) + big(intent.late_refund_amount);
        if (refundRecorded > refunded)
          problems.push(`the intent records ${refundRecorded} refunded, the ledger ${refunded}`);
        if (intent.aggregated_amount !== null && big(intent.aggregated_amount) !== collected)
          problems.push(
            `the intent records ${intent.aggregated_amount} collected, the ledger ${collected}`,
          );
      }
      if (problems.length > 0) report.differences += problems.length;
      report.intents.push({
        payment_intent_id: p.id,
        chain: chainKey,
        asset: p.token_address.toLowerCase(),
        received: received.toString(),
        refunded: refunded.toString(),
        collected: collected.toString(),
        fee: fee.toString(),
        held: held.toString(),
        problems,
      });
    }
  }

  async function latestEntries(key: string) {
    const rows = await db
      .selectFrom("ledger_postings as p")
      .innerJoin("ledger_entries as e", "e.id", "p.entry_id")
      .innerJoin("ledger_accounts as a", "a.id", "p.account_id")
      .select(["e.id", "e.ref", "e.kind", "e.block_number", "p.amount"])
      .where("a.key", "=", key)
      .orderBy("e.id", "desc")
      .limit(10)
      .execute();
    return rows.map((r) => ({
      id: String(r.id),
      ref: r.ref,
      kind: r.kind,
      block: String(r.block_number),
      amount: r.amount,
    }));
  }

  /** One pass over every chain with an RPC URL. */
  async function once(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      ok: true,
      at: (options.now?.() ?? new Date()).toISOString(),
      chains: [],
      accounts: [],
      intents: [],
      unbalanced_entries: [],
      differences: 0,
    };
    const unbalanced = await db
      .selectFrom("ledger_postings as p")
      .innerJoin("ledger_entries as e", "e.id", "p.entry_id")
      .innerJoin("ledger_accounts as a", "a.id", "p.account_id")
      .select(["e.id", "e.ref", "a.asset"])
      .select(sql<string>`sum(p.amount)`.as("sum"))
      .groupBy(["e.id", "e.ref", "a.asset"])
      .having(sql`sum(p.amount)`, "<>", 0)
      .execute();
    report.unbalanced_entries = unbalanced.map((u) => ({
      id: String(u.id),
      ref: u.ref,
      asset: u.asset,
      sum: u.sum,
    }));
    report.differences += unbalanced.length;
    for (const chain of chains.list()) {
      if (chain.rpcUrls.length === 0) continue;
      await reconcileChain(chain.key, report);
    }
    report.ok = report.differences === 0;
    return report;
  }

  return {
    /**
     * Reconciles; on a difference, looks again up to `attempts` times `waitMs` apart: a live
     * gateway may have a transaction mined but not yet followed. What stays is reported.
     */
    async reconcile(
      settings: { attempts?: number; waitMs?: number; signal?: AbortSignal } = {},
    ): Promise<ReconcileReport> {
      const attempts = settings.attempts ?? 3;
      let report = await once();
      for (let i = 1; i < attempts && !report.ok; i++) {
        await new Promise((resolve) => setTimeout(resolve, settings.waitMs ?? 3000));
        if (settings.signal?.aborted) break;
        report = await once();
      }
      return report;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;

/** Each account's balance at the block, or why it could not be read. */
async function balancesAt(
  client: PublicClient,
  blockNumber: bigint,
  accounts: ReadonlyArray<{ asset: string; address: string }>,
): Promise<Array<bigint | string>> {
  const results: Array<bigint | string> = [];
  // A few at a time: hundreds of deposit addresses must not open hundreds of requests at once.
  for (let i = 0; i < accounts.length; i += 20) {
    const batch = accounts.slice(i, i + 20);
    results.push(
      ...(await Promise.all(
        batch.map((a) =>
          (a.asset === NATIVE
            ? client.getBalance({ address: a.address as Address, blockNumber })
            : client.readContract({
                address: a.asset as Address,
                abi: erc20Abi,
                functionName: "balanceOf",
                args: [a.address as Address],
                blockNumber,
              })
          ).catch((err: unknown) =>
            err instanceof BaseError ? err.shortMessage : (String(err).split("\n")[0] ?? "error"),
          ),
        ),
      )),
    );
  }
  return results;
}
