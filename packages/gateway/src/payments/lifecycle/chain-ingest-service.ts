import { type Kysely, sql, type Transaction } from "kysely";
import type { Hex } from "viem";
import { applyFollowerEvent, followerTip } from "../../chain/follower/apply-follower-event.ts";
import type {
  BlockRef,
  FollowerEvent,
  FollowerState,
  TransferLog,
} from "../../chain/follower/types.ts";
import type { AddressBook } from "../../ledger/address-book.ts";
import {
  type ConfirmedTransfer,
  recordPayments,
  recordReversedPayments,
  recordWalletDeposits,
  type WalletDeposit,
} from "../../ledger/money-events.ts";
import type { Database } from "../../platform/database/schema.ts";
import type { Lease } from "../../platform/lease.ts";
import { restoreLeftAssets } from "./left-assets.ts";
import type { LifecycleService } from "./lifecycle-service.ts";
import { type Reversal, recordReversals } from "./reversals.ts";

/**
 * Applies a chain follower's events to the database. Each event is one transaction: the block
 * window, the transfers it credits and the intents' new states commit together, so a crash at any
 * point resumes from loadState() with no gap and no double count (events are also idempotent).
 */
export function createChainIngestService(options: {
  db: Kysely<Database>;
  lifecycle: LifecycleService;
  /** The gateway's wallets: tokens sent into them from outside are recorded in the ledger. */
  addressBook?: AddressBook | undefined;
  now?: () => Date;
}) {
  const { db, lifecycle, addressBook } = options;
  const now = options.now ?? (() => new Date());

  async function matchTransfers(
    trx: Transaction<Database>,
    chainKey: string,
    logs: readonly TransferLog[],
    state: "seen" | "confirmed",
  ): Promise<string[]> {
    // Zero-value transfers prove nothing and cost nothing to forge: never credited.
    const paying = logs.filter((l) => l.value > 0n);
    await matchWalletDeposits(trx, chainKey, paying, state);
    if (paying.length === 0) return [];
    const recipients = [...new Set(paying.map((l) => l.to.toLowerCase()))];
    const intents = await trx
      .selectFrom("payment_intents")
      .select(["id", "payment_address", "token_address"])
      .where("payment_chain_id", "=", chainKey)
      .where((eb) => eb(eb.fn("lower", ["payment_address"]), "in", recipients))
      // Locked (in id order) before the transfer is written: the payer's choice of asset
      // (payment-intent-service chooseAsset) takes the same lock, so it either sees this
      // transfer and refuses, or commits first and the transfer is matched against the new asset.
      .orderBy("id")
      .forUpdate()
      .execute();
    const byAddress = new Map(intents.map((i) => [i.payment_address.toLowerCase(), i]));
    // Paid in an asset the checkout showed before the payer switched: switched back and counted.
    const unmatched = paying.filter(
      (l) =>
        byAddress.get(l.to.toLowerCase())?.token_address.toLowerCase() !== l.token.toLowerCase(),
    );
    for (const i of await restoreLeftAssets(trx, chainKey, unmatched, now())) {
      byAddress.set(i.payment_address.toLowerCase(), i);
    }
    const touched: string[] = [];
    const confirmed: ConfirmedTransfer[] = [];
    for (const log of paying) {
      const intent = byAddress.get(log.to.toLowerCase());
      // The intent's own token only: USDC sent to a USDT intent's address is not a payment.
      if (!intent || intent.token_address.toLowerCase() !== log.token.toLowerCase()) continue;
      const row = {
        chain_id: chainKey,
        tx_hash: log.txHash,
        log_index: log.logIndex,
        token_address: log.token,
        from_address: log.from,
        to_address: log.to,
        amount: log.value,
        block_number: log.blockNumber,
        block_hash: log.blockHash,
        block_timestamp: new Date(Number(log.blockTimestamp) * 1000),
        state,
        payment_intent_id: intent.id,
      };
      await trx
        .insertInto("transfers")
        .values(row)
        // A transfer re-included after a reorg comes back with its new block.
        .onConflict((oc) =>
          oc.columns(["chain_id", "tx_hash", "log_index"]).doUpdateSet({
            block_number: row.block_number,
            block_hash: row.block_hash,
            block_timestamp: row.block_timestamp,
            state: row.state,
            updated_at: now(),
          }),
        )
        .execute();
      touched.push(intent.id);
      if (state === "confirmed") confirmed.push(row);
    }
    await recordPayments(trx, chainKey, confirmed);
    return touched;
  }

  /**
   * Tokens sent into one of the gateway's wallets from an address that is not the gateway's
   * (the operator funding payouts): followed like payments, so the ledger can count them.
   */
  async function matchWalletDeposits(
    trx: Transaction<Database>,
    chainKey: string,
    logs: readonly TransferLog[],
    state: "seen" | "confirmed",
  ): Promise<void> {
    if (!addressBook || logs.length === 0) return;
    const owners = await addressBook.wallets(trx);
    const incoming = logs.filter((l) => owners.has(l.to.toLowerCase()));
    if (incoming.length === 0) return;
    const senders = [...new Set(incoming.map((l) => l.from.toLowerCase()))];
    // Sent by the gateway itself (a collection's fee, a deposit address): recorded as that
    // transaction when it confirms, not as funding.
    const ours = new Set(
      (
        await trx
          .selectFrom("payment_intents")
          .select(sql<string>`lower(payment_address)`.as("address"))
          .where("payment_chain_id", "=", chainKey)
          .where((eb) => eb(eb.fn("lower", ["payment_address"]), "in", senders))
          .execute()
      ).map((r) => r.address),
    );
    const confirmed: WalletDeposit[] = [];
    for (const l of incoming) {
      if (ours.has(l.from.toLowerCase()) || owners.has(l.from.toLowerCase())) continue;
      const row = {
        chain_id: chainKey,
        tx_hash: l.txHash,
        log_index: l.logIndex,
        token_address: l.token,
        from_address: l.from,
        to_address: l.to,
        amount: l.value,
        block_number: l.blockNumber,
        block_hash: l.blockHash,
        state,
      };
      await trx
        .insertInto("wallet_deposits")
        .values(row)
        .onConflict((oc) =>
          oc.columns(["chain_id", "tx_hash", "log_index"]).doUpdateSet({
            block_number: row.block_number,
            block_hash: row.block_hash,
            state: row.state,
          }),
        )
        .execute();
      if (state === "confirmed") confirmed.push(row);
    }
    await recordWalletDeposits(trx, chainKey, confirmed, owners);
  }

  async function readState(executor: Kysely<Database>, chainKey: string): Promise<FollowerState> {
    const rows = await executor
      .selectFrom("chain_blocks")
      .selectAll()
      .where("chain_id", "=", chainKey)
      .orderBy("number")
      .execute();
    const ref = (r: (typeof rows)[number]): BlockRef => ({
      number: BigInt(r.number),
      hash: r.hash as Hex,
      parentHash: r.parent_hash as Hex,
      timestamp: BigInt(r.timestamp),
    });
    const last = rows.filter((r) => r.finalized).at(-1);
    return { window: rows.filter((r) => !r.finalized).map(ref), finalized: last && ref(last) };
  }

  /** Makes the stored window equal `next`, touching only the rows that differ. */
  async function writeState(
    trx: Transaction<Database>,
    chainKey: string,
    previous: FollowerState,
    next: FollowerState,
  ): Promise<void> {
    const rows = [
      ...(next.finalized ? [{ block: next.finalized, finalized: true }] : []),
      ...next.window.map((block) => ({ block, finalized: false })),
    ];
    const before = new Map<bigint, { hash: string; finalized: boolean }>();
    if (previous.finalized)
      before.set(previous.finalized.number, { hash: previous.finalized.hash, finalized: true });
    for (const b of previous.window) before.set(b.number, { hash: b.hash, finalized: false });
    const keep = new Set(rows.map((r) => r.block.number));
    const gone = [...before.keys()].filter((n) => !keep.has(n)).map(String);
    if (gone.length > 0) {
      await trx
        .deleteFrom("chain_blocks")
        .where("chain_id", "=", chainKey)
        .where("number", "in", gone)
        .execute();
    }
    for (const { block, finalized } of rows) {
      const old = before.get(block.number);
      if (old && old.hash === block.hash && old.finalized === finalized) continue;
      const row = {
        chain_id: chainKey,
        number: block.number,
        hash: block.hash,
        parent_hash: block.parentHash,
        timestamp: block.timestamp,
        finalized,
      };
      await trx
        .insertInto("chain_blocks")
        .values(row)
        .onConflict((oc) =>
          oc.columns(["chain_id", "number"]).doUpdateSet({
            hash: row.hash,
            parent_hash: row.parent_hash,
            timestamp: row.timestamp,
            finalized,
          }),
        )
        .execute();
    }
  }

  /** Confirms the transfers at or below a final block. */
  async function confirmUpTo(
    trx: Transaction<Database>,
    chainKey: string,
    block: BlockRef,
  ): Promise<string[]> {
    const confirmed = await trx
      .updateTable("transfers")
      .set({ state: "confirmed", updated_at: now() })
      .where("chain_id", "=", chainKey)
      .where("state", "=", "seen")
      .where("block_number", "<=", block.number.toString())
      .returning(TRANSFER_COLUMNS)
      .execute();
    await recordPayments(trx, chainKey, confirmed);
    const deposits = await trx
      .updateTable("wallet_deposits")
      .set({ state: "confirmed" })
      .where("chain_id", "=", chainKey)
      .where("state", "=", "seen")
      .where("block_number", "<=", block.number.toString())
      .returningAll()
      .execute();
    if (deposits.length > 0 && addressBook)
      await recordWalletDeposits(trx, chainKey, deposits, await addressBook.wallets(trx));
    return confirmed.map((r) => r.payment_intent_id);
  }

  /**
   * Applies a batch of events (a follower's `batches()` group: a block and the finalize it
   * brought) in one transaction, with one lock and one read of the stored window. `expected` is
   * the state the caller's follower believes is stored before the batch; when the database
   * holds another (a second process got there first), nothing is written and
   * StaleFollowerStateError tells the caller to reload with loadState(). With the chain's
   * `lease`, nothing is written either once another process has taken it over (the fencing
   * token; LeaseLostError).
   */
  function applyAll(
    chainKey: string,
    events: readonly FollowerEvent[],
    expected?: FollowerState,
    lease?: Pick<Lease, "fence">,
  ): Promise<{ changes: Array<{ id: string; to: string }>; reversals: Reversal[] }> {
    return db.transaction().execute(async (trx) => {
      await lease?.fence(trx);
      // One writer per chain at a time, across processes; and only on top of the state this
      // follower started from: another process may have moved the chain on meanwhile.
      await sql`select pg_advisory_xact_lock(hashtext(${`stablegate:chain:${chainKey}`}))`.execute(
        trx,
      );
      const previous = await readState(trx, chainKey);
      if (expected !== undefined && !sameTip(previous, expected)) {
        throw new StaleFollowerStateError(chainKey);
      }
      // The follower's own transition decides the stored window, so the two cannot disagree.
      await writeState(trx, chainKey, previous, events.reduce(applyFollowerEvent, previous));
      const touched: string[] = [];
      const reversals: Reversal[] = [];
      // A block final in this same batch (1 confirmation) is written confirmed at once; with
      // no unconfirmed block before it, its finalize then has nothing left to confirm.
      const finalInBatch = events.reduce<bigint>(
        (n, e) => (e.type === "finalize" && e.block.number > n ? e.block.number : n),
        -1n,
      );
      let unconfirmed = previous.window.length > 0;
      for (const event of events) {
        switch (event.type) {
          case "block": {
            const final = event.block.number <= finalInBatch;
            if (!final) unconfirmed = true;
            touched.push(
              ...(await matchTransfers(trx, chainKey, event.logs, final ? "confirmed" : "seen")),
            );
            break;
          }
          case "finalize":
            if (unconfirmed) touched.push(...(await confirmUpTo(trx, chainKey, event.block)));
            break;
          case "reorg": {
            const above = event.commonAncestor.number.toString();
            // A deep reorg takes confirmed transfers too: the payments they decided are reversed.
            const vanished = event.deep
              ? await trx
                  .selectFrom("transfers")
                  .select(TRANSFER_COLUMNS)
                  .where("chain_id", "=", chainKey)
                  .where("state", "=", "confirmed")
                  .where("block_number", ">", above)
                  .orderBy("block_number")
                  .orderBy("log_index")
                  .execute()
              : [];
            // Kept, not deleted: what was seen and dropped stays visible for audit.
            const orphaned = await trx
              .updateTable("transfers")
              .set({ state: "orphaned", updated_at: now() })
              .where("chain_id", "=", chainKey)
              .where("state", "in", event.deep ? ["seen", "confirmed"] : ["seen"])
              .where("block_number", ">", above)
              .returning("payment_intent_id")
              .execute();
            touched.push(...orphaned.map((r) => r.payment_intent_id));
            await recordReversedPayments(trx, chainKey, vanished);
            const reversedDeposits = event.deep
              ? await trx
                  .selectFrom("wallet_deposits")
                  .selectAll()
                  .where("chain_id", "=", chainKey)
                  .where("state", "=", "confirmed")
                  .where("block_number", ">", above)
                  .execute()
              : [];
            await trx
              .updateTable("wallet_deposits")
              .set({ state: "orphaned" })
              .where("chain_id", "=", chainKey)
              .where("state", "in", event.deep ? ["seen", "confirmed"] : ["seen"])
              .where("block_number", ">", above)
              .execute();
            if (reversedDeposits.length > 0 && addressBook) {
              const owners = await addressBook.wallets(trx);
              await recordWalletDeposits(
                trx,
                chainKey,
                reversedDeposits,
                owners,
                "wallet_funding_reversed",
              );
            }
            reversals.push(
              ...(await recordReversals(trx, {
                chainKey,
                vanished,
                commonAncestor: event.commonAncestor.number,
                at: now(),
              })),
            );
            if (event.deep) {
              await trx
                .insertInto("gateway_events")
                .values({
                  type: CHAIN_DEEP_REORG,
                  chain_id: chainKey,
                  data: JSON.stringify({
                    common_ancestor: above,
                    common_ancestor_hash: event.commonAncestor.hash,
                    dropped: event.dropped.map((b) => ({ number: String(b.number), hash: b.hash })),
                    orphaned_transfers: orphaned.length,
                    reversed_intents: reversals.map((r) => r.paymentIntentId),
                  }),
                  created_at: now(),
                })
                .execute();
            }
            break;
          }
          case "backfill":
            touched.push(...(await matchTransfers(trx, chainKey, event.logs, "confirmed")));
            touched.push(...(await confirmUpTo(trx, chainKey, event.toBlock)));
            unconfirmed = false;
            break;
        }
      }
      // Each intent is decided once per batch, on what the whole batch did: the cause is the
      // batch's last event (a finalize after its block).
      const last = events.at(-1)?.type ?? "block";
      const changes = await lifecycle.recompute(trx, touched, `chain:${chainKey}:${last}`);
      return { changes: changes.map((c) => ({ id: c.id, to: c.to })), reversals };
    });
  }

  return {
    /** The follower's state as the database last committed it. */
    loadState: (chainKey: string) => readState(db, chainKey),

    /**
     * The blocks in [from, to] of the chain's credited transfers (not orphaned): processed blocks
     * among which a deep reorg's common ancestor is found (the follower's knownBlocks).
     */
    async knownBlocks(chainKey: string, from: bigint, to: bigint) {
      const rows = await db
        .selectFrom("transfers")
        .select(["block_number", "block_hash"])
        .distinct()
        .where("chain_id", "=", chainKey)
        .where("state", "!=", "orphaned")
        .where("block_number", ">=", from.toString())
        .where("block_number", "<=", to.toString())
        .execute();
      return rows.map((r) => ({ number: BigInt(r.block_number), hash: r.block_hash as Hex }));
    },

    /** One event on its own: applyAll of [event]. */
    apply(
      chainKey: string,
      event: FollowerEvent,
      expected?: FollowerState,
      lease?: Pick<Lease, "fence">,
    ): Promise<{ changes: Array<{ id: string; to: string }>; reversals: Reversal[] }> {
      return applyAll(chainKey, [event], expected, lease);
    },

    applyAll,
  };
}

export type ChainIngestService = ReturnType<typeof createChainIngestService>;

const TRANSFER_COLUMNS = [
  "payment_intent_id",
  "tx_hash",
  "log_index",
  "token_address",
  "from_address",
  "to_address",
  "amount",
  "block_number",
  "block_hash",
] as const;

/** The gateway_events type of a reorg below the finalised block, whatever it affected. */
export const CHAIN_DEEP_REORG = "chain.deep_reorg";

export class StaleFollowerStateError extends Error {
  override name = "StaleFollowerStateError";
  constructor(chainKey: string) {
    super(`chain ${chainKey}: the stored block window moved on under this follower; reloading`);
  }
}

function sameTip(a: FollowerState, b: FollowerState): boolean {
  const x = followerTip(a);
  const y = followerTip(b);
  return x === undefined || y === undefined ? x === y : x.number === y.number && x.hash === y.hash;
}
