import { type Kysely, sql, type Transaction } from "kysely";
import type { Hex } from "viem";
import { applyFollowerEvent, followerTip } from "../../chain/follower/apply-follower-event.ts";
import type {
  BlockRef,
  FollowerEvent,
  FollowerState,
  TransferLog,
} from "../../chain/follower/types.ts";
import type { Database } from "../../platform/database/schema.ts";
import type { Lease } from "../../platform/lease.ts";
import type { LifecycleService } from "./lifecycle-service.ts";

/**
 * Applies a chain follower's events to the database. Each event is one transaction: the block
 * window, the transfers it credits and the intents' new states commit together, so a crash at any
 * point resumes from loadState() with no gap and no double count (events are also idempotent).
 */
export function createChainIngestService(options: {
  db: Kysely<Database>;
  lifecycle: LifecycleService;
  now?: () => Date;
}) {
  const { db, lifecycle } = options;
  const now = options.now ?? (() => new Date());

  async function matchTransfers(
    trx: Transaction<Database>,
    chainKey: string,
    logs: readonly TransferLog[],
    state: "seen" | "confirmed",
  ): Promise<string[]> {
    // Zero-value transfers prove nothing and cost nothing to forge: never credited.
    const paying = logs.filter((l) => l.value > 0n);
    if (paying.length === 0) return [];
    const recipients = [...new Set(paying.map((l) => l.to.toLowerCase()))];
    const intents = await trx
      .selectFrom("payment_intents")
      .select(["id", "payment_address", "token_address"])
      .where("payment_chain_id", "=", chainKey)
      .where((eb) => eb(eb.fn("lower", ["payment_address"]), "in", recipients))
      .execute();
    const byAddress = new Map(intents.map((i) => [i.payment_address.toLowerCase(), i]));
    const touched: string[] = [];
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
    }
    return touched;
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
      .returning("payment_intent_id")
      .execute();
    return confirmed.map((r) => r.payment_intent_id);
  }

  return {
    /** The follower's state as the database last committed it. */
    loadState: (chainKey: string) => readState(db, chainKey),

    /**
     * Applies one event. `expected` is the state the caller's follower believes is stored; when
     * the database holds another (a second process got there first), nothing is written and
     * StaleFollowerStateError tells the caller to reload with loadState(). With the chain's
     * `lease`, nothing is written either once another process has taken it over (the fencing
     * token; LeaseLostError).
     */
    async apply(
      chainKey: string,
      event: FollowerEvent,
      expected?: FollowerState,
      lease?: Pick<Lease, "fence">,
    ): Promise<Array<{ id: string; to: string }>> {
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
        await writeState(trx, chainKey, previous, applyFollowerEvent(previous, event));
        let touched: string[] = [];
        switch (event.type) {
          case "block":
            touched = await matchTransfers(trx, chainKey, event.logs, "seen");
            break;
          case "finalize":
            touched = await confirmUpTo(trx, chainKey, event.block);
            break;
          case "reorg": {
            // Kept, not deleted: what was seen and dropped stays visible for audit.
            const orphaned = await trx
              .updateTable("transfers")
              .set({ state: "orphaned", updated_at: now() })
              .where("chain_id", "=", chainKey)
              .where("state", "=", "seen")
              .where("block_number", ">", event.commonAncestor.number.toString())
              .returning("payment_intent_id")
              .execute();
            touched = orphaned.map((r) => r.payment_intent_id);
            break;
          }
          case "backfill":
            touched = await matchTransfers(trx, chainKey, event.logs, "confirmed");
            touched.push(...(await confirmUpTo(trx, chainKey, event.toBlock)));
            break;
        }
        const changes = await lifecycle.recompute(trx, touched, `chain:${chainKey}:${event.type}`);
        return changes.map((c) => ({ id: c.id, to: c.to }));
      });
    },
  };
}

export type ChainIngestService = ReturnType<typeof createChainIngestService>;

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
