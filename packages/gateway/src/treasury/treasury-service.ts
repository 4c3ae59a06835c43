import { type Kysely, type Selectable, sql } from "kysely";
import type { Logger } from "pino";
import { type Address, getAddress, isAddress, zeroAddress } from "viem";
import { enqueueStatusCallback } from "../callbacks/outbox.ts";
import type { ChainTxView, TxManager } from "../chain/tx-manager/tx-manager.ts";
import { formatTokenAmount } from "../payments/money.ts";
import { sleep as sleepUnlessAborted } from "../platform/abort.ts";
import type {
  CollectionsTable,
  Database,
  PaymentIntentsTable,
  RefundsTable,
} from "../platform/database/schema.ts";
import { notFound, validationError } from "../platform/errors.ts";
import {
  type DepositAccounts,
  DepositTransferError,
  type DepositTransferRequest,
} from "./deposit-accounts.ts";
import {
  assertFeeBps,
  refundsDue,
  splitCollection,
  summariseRefunds,
  transferKey,
} from "./rules.ts";
import { enqueueTreasuryWork } from "./treasury-work.ts";

export interface TreasuryServiceOptions {
  db: Kysely<Database>;
  txManager: Pick<TxManager, "get">;
  depositAccounts: DepositAccounts;
  /** Where the operator's fee goes (FEE_ADDRESS, or the seed's fee wallet). */
  feeAddress: () => Address;
  /** A collection waits this long after the success (and always until the deadline). */
  collectionDelaySeconds: number;
  /** The precision amounts are quoted in: aggregated_amount is rounded down to it. */
  quoteDecimals: number;
  log: Logger;
  intervalMs?: number;
  /** Intents worked on per pass. */
  batchSize?: number;
  now?: () => Date;
  /** Called after a committed status change (the callback dispatcher delivers at once). */
  onStatusChange?: () => void;
}

type Step = { kind: "done" } | { kind: "wait"; until: Date; reason: string };

const LEASE_MS = 120_000;
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Moves the money the payment lifecycle decided about: refunds of insufficient and late payments
 * to their senders, and collection of successful payments into the organisation's treasury (with
 * the operator's fee). Durable and restart-safe: the work queue (treasury_work) is written with
 * the status change that causes it, claimed with a lease (SKIP LOCKED, so several processes share
 * it), and every transfer carries an idempotency key derived from its decision, so a retry or a
 * restart finds the transaction already made instead of making another.
 */
export function createTreasuryService(options: TreasuryServiceOptions) {
  const { db, txManager, depositAccounts, log } = options;
  const now = options.now ?? (() => new Date());
  const intervalMs = options.intervalMs ?? 2000;
  const batchSize = options.batchSize ?? 20;

  const wait = (reason: string, ms = intervalMs): Step => ({
    kind: "wait",
    until: new Date(now().getTime() + ms),
    reason,
  });

  /** The transaction behind a row: submit it (one step) if the row has none yet. */
  async function send(
    current: number | string | null,
    request: DepositTransferRequest,
    record: (tx: ChainTxView) => Promise<void>,
  ): Promise<ChainTxView | Step> {
    if (current !== null) {
      const tx = await txManager.get(Number(current));
      if (!tx) throw new Error(`chain transaction ${current} is missing`);
      return tx;
    }
    const step = await depositAccounts.transfer(request);
    if (step.state === "waiting") return wait(step.reason);
    await record(step.tx);
    return step.tx;
  }

  async function refund(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<RefundsTable>,
  ): Promise<Step | undefined> {
    const key = `refund:${row.chain_id}:${row.tx_hash.toLowerCase()}:${row.log_index}`;
    const tx = await send(
      row.chain_tx_id,
      {
        chainKey: row.chain_id,
        depositIndex: intent.deposit_index,
        token: row.token_address as Address,
        to: row.to_address as Address,
        amount: BigInt(row.amount),
        purpose: "refund",
        idempotencyKey: key,
      },
      async (t) => {
        await db
          .updateTable("refunds")
          .set({ chain_tx_id: t.id, state: "submitted", updated_at: now() })
          .where("id", "=", row.id)
          .execute();
        log.info(
          { payment_intent_id: intent.id, kind: row.kind, tx_hash: t.txHash },
          "refund submitted",
        );
      },
    );
    if ("kind" in tx) return tx;
    if (tx.state === "failed") {
      const error = `refund transaction ${tx.txHash} failed: ${tx.error ?? "unknown"}`;
      await db
        .updateTable("refunds")
        .set({ state: "failed", error, updated_at: now() })
        .where("id", "=", row.id)
        .execute();
      log.error({ payment_intent_id: intent.id, tx_hash: tx.txHash }, `${error}; needs a person`);
      return undefined;
    }
    if (tx.state !== "confirmed") return wait(`refund ${tx.txHash} is ${tx.state}`);
    await depositAccounts.settled(tx);
    await confirmRefund(intent.id, row, tx);
    return undefined;
  }

  /** The refund row, the intent's refund fields, its history and its callback: one transaction. */
  async function confirmRefund(intentId: string, row: Selectable<RefundsTable>, tx: ChainTxView) {
    const changed = await db.transaction().execute(async (trx) => {
      const intent = await trx
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", intentId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const confirmed = await trx
        .updateTable("refunds")
        .set({ state: "confirmed", chain_tx_id: tx.id, updated_at: now() })
        .where("id", "=", row.id)
        .where("state", "!=", "confirmed")
        .executeTakeFirst();
      // Another worker confirmed it first (its lease ran out mid-batch): nothing more to write.
      if (confirmed.numUpdatedRows === 0n) return false;
      const all = await trx
        .selectFrom("refunds")
        .leftJoin("chain_txs", "chain_txs.id", "refunds.chain_tx_id")
        .select(["refunds.kind", "refunds.amount", "refunds.state", "chain_txs.tx_hash"])
        .where("refunds.payment_intent_id", "=", intentId)
        .orderBy("refunds.id")
        .execute();
      const summary = summariseRefunds(
        all.map((r) => ({
          kind: r.kind,
          amount: BigInt(r.amount),
          state: r.state,
          txHash: r.tx_hash,
        })),
      );
      const amount = formatTokenAmount(BigInt(row.amount), intent.decimals);
      if (row.kind === "late") {
        await trx
          .updateTable("payment_intents")
          .set({
            late_refund_amount: summary.late.amount,
            late_refund_tx_hash: summary.late.lastTxHash,
            updated_at: now(),
          })
          .where("id", "=", intentId)
          .execute();
        // The status stays; the history still tells a person where the late money went.
        await trx
          .insertInto("payment_intent_status_history")
          .values({
            payment_intent_id: intentId,
            from_status: intent.status,
            to_status: intent.status,
            cause: `late payment refunded: ${amount} ${intent.symbol} to ${row.to_address} in ${tx.txHash}`,
          })
          .execute();
        return false;
      }
      if (!summary.insufficient.complete) return false;
      const becomesRefunded = intent.status === "insufficient_not_refunded";
      const updated = await trx
        .updateTable("payment_intents")
        .set({
          ...(becomesRefunded ? { status: "insufficient_refunded" } : {}),
          refund_amount: summary.insufficient.amount,
          refund_tx_hash: summary.insufficient.lastTxHash,
          updated_at: now(),
        })
        .where("id", "=", intentId)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (!becomesRefunded) return false;
      await trx
        .insertInto("payment_intent_status_history")
        .values({
          payment_intent_id: intentId,
          from_status: intent.status,
          to_status: "insufficient_refunded",
          cause: `refunded: ${formatTokenAmount(summary.insufficient.amount, intent.decimals)} ${intent.symbol}, last in ${summary.insufficient.lastTxHash}`,
        })
        .execute();
      await enqueueStatusCallback(trx, updated, now());
      return true;
    });
    if (changed) {
      log.info({ payment_intent_id: intentId }, "payment intent refunded");
      options.onStatusChange?.();
    }
  }

  async function collect(intent: Selectable<PaymentIntentsTable>): Promise<Step> {
    const at = now();
    const succeeded = await db
      .selectFrom("payment_intent_status_history")
      .select("created_at")
      .where("payment_intent_id", "=", intent.id)
      .where("to_status", "=", "success")
      .orderBy("id", "desc")
      .executeTakeFirst();
    // Until the deadline more on-time payments may arrive and raise received_amount.
    const dueAt = Math.max(
      intent.payment_deadline.getTime() + 1000,
      (succeeded?.created_at ?? intent.updated_at).getTime() +
        options.collectionDelaySeconds * 1000,
    );
    if (at.getTime() < dueAt) return wait("collection not due yet", dueAt - at.getTime());
    const confirming = await db
      .selectFrom("transfers")
      .select("tx_hash")
      .where("payment_intent_id", "=", intent.id)
      .where("state", "=", "seen")
      .where("block_timestamp", "<=", intent.payment_deadline)
      .executeTakeFirst();
    if (confirming) return wait(`on-time payment ${confirming.tx_hash} is still confirming`);
    // Chain time, as the lifecycle's deadline sweep uses: until the watcher has stored a block
    // newer than the deadline, an on-time payment may still be unread, and collecting now would
    // strand it on the deposit address.
    const pastDeadline = await db
      .selectFrom("chain_blocks")
      .select("number")
      .where("chain_id", "=", intent.payment_chain_id)
      .where("timestamp", ">", Math.floor(intent.payment_deadline.getTime() / 1000))
      .limit(1)
      .executeTakeFirst();
    if (!pastDeadline) return wait("the chain watcher has not read past the deadline yet");

    const org = await db
      .selectFrom("organizations")
      .select(["id", "treasury_address", "fee_bps"])
      .where("id", "=", intent.org_id)
      .executeTakeFirstOrThrow();
    let row = await db
      .selectFrom("collections")
      .selectAll()
      .where("payment_intent_id", "=", intent.id)
      .executeTakeFirst();
    if (!row || row.state === "waiting_treasury") {
      if (!org.treasury_address) {
        if (!row) {
          const error = `organization ${org.id} has no treasury_address: set one with \`stablegate org set-treasury ${org.id} <address>\``;
          await db
            .insertInto("collections")
            .values({
              payment_intent_id: intent.id,
              chain_id: intent.payment_chain_id,
              token_address: intent.token_address,
              from_address: intent.payment_address,
              state: "waiting_treasury",
              error,
            })
            .onConflict((oc) => oc.column("payment_intent_id").doNothing())
            .execute();
          log.warn(
            { payment_intent_id: intent.id, org_id: org.id },
            `collection skipped: ${error}`,
          );
        }
        return { kind: "done" };
      }
      const { aggregated, fee } = splitCollection(
        BigInt(intent.received_amount ?? 0),
        org.fee_bps,
        intent.decimals,
        options.quoteDecimals,
      );
      const values = {
        treasury_address: org.treasury_address,
        fee_address: options.feeAddress(),
        amount: aggregated,
        fee,
        state: "pending" as const,
        error: null,
        updated_at: now(),
      };
      row = await db
        .insertInto("collections")
        .values({
          payment_intent_id: intent.id,
          chain_id: intent.payment_chain_id,
          token_address: intent.token_address,
          from_address: intent.payment_address,
          ...values,
        })
        .onConflict((oc) =>
          oc
            .column("payment_intent_id")
            .doUpdateSet(values)
            .where("collections.state", "=", "waiting_treasury"),
        )
        .returningAll()
        .executeTakeFirst();
      row ??= await db
        .selectFrom("collections")
        .selectAll()
        .where("payment_intent_id", "=", intent.id)
        .executeTakeFirstOrThrow();
    }
    if (row.state !== "pending" && row.state !== "submitted") return { kind: "done" };
    return collectRow(intent, row);
  }

  async function collectRow(
    intent: Selectable<PaymentIntentsTable>,
    row: Selectable<CollectionsTable>,
  ): Promise<Step> {
    const legs = [
      {
        column: "chain_tx_id" as const,
        amount: BigInt(row.amount ?? 0),
        to: row.treasury_address as Address,
        purpose: "collection" as const,
        key: `collect:${intent.id}`,
      },
      {
        column: "fee_chain_tx_id" as const,
        amount: BigInt(row.fee ?? 0),
        to: row.fee_address as Address,
        purpose: "fee" as const,
        key: `collect-fee:${intent.id}`,
      },
    ];
    const txs: Partial<Record<"chain_tx_id" | "fee_chain_tx_id", ChainTxView>> = {};
    for (const leg of legs) {
      if (leg.amount === 0n) continue;
      const tx = await send(
        row[leg.column],
        {
          chainKey: row.chain_id,
          depositIndex: intent.deposit_index,
          token: row.token_address as Address,
          to: leg.to,
          amount: leg.amount,
          purpose: leg.purpose,
          idempotencyKey: leg.key,
        },
        async (t) => {
          await db
            .updateTable("collections")
            .set({ [leg.column]: t.id, state: "submitted", updated_at: now() })
            .where("id", "=", row.id)
            .execute();
          log.info(
            { payment_intent_id: intent.id, purpose: leg.purpose, tx_hash: t.txHash },
            "collection transfer submitted",
          );
        },
      );
      if ("kind" in tx) return tx;
      if (tx.state === "failed") {
        const error = `${leg.purpose} transaction ${tx.txHash} failed: ${tx.error ?? "unknown"}`;
        await db
          .updateTable("collections")
          .set({ state: "failed", error, updated_at: now() })
          .where("id", "=", row.id)
          .execute();
        log.error({ payment_intent_id: intent.id, tx_hash: tx.txHash }, `${error}; needs a person`);
        return { kind: "done" };
      }
      if (tx.state !== "confirmed") return wait(`${leg.purpose} ${tx.txHash} is ${tx.state}`);
      await depositAccounts.settled(tx);
      txs[leg.column] = tx;
    }
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable("collections")
        .set({ state: "confirmed", error: null, updated_at: now() })
        .where("id", "=", row.id)
        .execute();
      await trx
        .updateTable("payment_intents")
        .set({
          aggregated_amount: BigInt(row.amount ?? 0),
          aggregation_tx_hash: txs.chain_tx_id?.txHash ?? null,
          updated_at: now(),
        })
        .where("id", "=", intent.id)
        .execute();
    });
    log.info(
      {
        payment_intent_id: intent.id,
        aggregated_amount: formatTokenAmount(BigInt(row.amount ?? 0), intent.decimals),
        fee: formatTokenAmount(BigInt(row.fee ?? 0), intent.decimals),
        treasury: row.treasury_address,
      },
      "payment collected into the treasury",
    );
    return { kind: "done" };
  }

  /** Everything the treasury owes on one intent, one step at a time. */
  async function work(intentId: string): Promise<Step> {
    const intent = await db
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", intentId)
      .executeTakeFirst();
    if (!intent) return { kind: "done" };
    const status = intent.status;
    const transfers = await db
      .selectFrom("transfers")
      .selectAll()
      .where("payment_intent_id", "=", intentId)
      .where("state", "=", "confirmed")
      .orderBy("block_number")
      .orderBy("log_index")
      .execute();
    const known = await db
      .selectFrom("refunds")
      .select(["chain_id", "tx_hash", "log_index"])
      .where("payment_intent_id", "=", intentId)
      .execute();
    const due = refundsDue(
      { status, deadline: intent.payment_deadline },
      transfers.map((t) => ({
        chainId: t.chain_id,
        txHash: t.tx_hash,
        logIndex: t.log_index,
        from: t.from_address,
        amount: BigInt(t.amount),
        minedAt: t.block_timestamp,
        confirmed: true,
      })),
      new Set(
        known.map((k) =>
          transferKey({ chainId: k.chain_id, txHash: k.tx_hash, logIndex: k.log_index }),
        ),
      ),
    );
    for (const { transfer, kind } of due) {
      await db
        .insertInto("refunds")
        .values({
          payment_intent_id: intentId,
          chain_id: transfer.chainId,
          tx_hash: transfer.txHash,
          log_index: transfer.logIndex,
          kind,
          token_address: intent.token_address,
          from_address: intent.payment_address,
          to_address: transfer.from,
          amount: transfer.amount,
        })
        .onConflict((oc) => oc.columns(["chain_id", "tx_hash", "log_index"]).doNothing())
        .execute();
    }
    const open = await db
      .selectFrom("refunds")
      .selectAll()
      .where("payment_intent_id", "=", intentId)
      .where("state", "in", ["pending", "submitted"])
      .orderBy("id")
      .execute();
    // One at a time: each transfer from the deposit address is funded and confirmed before the next.
    for (const row of open) {
      const step = await refund(intent, row);
      if (step) return step;
    }
    if (status === "success") return collect(intent);
    return { kind: "done" };
  }

  async function claim(): Promise<
    Array<{ id: string; enqueuedAt: Date; lastError: string | null }>
  > {
    const at = now();
    const rows = await sql<{
      payment_intent_id: string;
      enqueued_at: Date;
      last_error: string | null;
    }>`update treasury_work set locked_until = ${new Date(at.getTime() + LEASE_MS)}
      where payment_intent_id in (
        select payment_intent_id from treasury_work
        where next_attempt_at <= ${at} and (locked_until is null or locked_until < ${at})
        order by next_attempt_at limit ${batchSize}
        for update skip locked)
      returning payment_intent_id, enqueued_at, last_error`.execute(db);
    return rows.rows.map((r) => ({
      id: r.payment_intent_id,
      enqueuedAt: new Date(r.enqueued_at),
      lastError: r.last_error,
    }));
  }

  async function runOne(job: { id: string; enqueuedAt: Date; lastError: string | null }) {
    let step: Step;
    try {
      step = await work(job.id);
    } catch (err) {
      const reason =
        err instanceof DepositTransferError ? err.message : `${(err as Error).message ?? err}`;
      // Logged when the reason changes, not on every retry: an operator sees each new problem.
      if (reason !== job.lastError) {
        log.error(
          {
            payment_intent_id: job.id,
            reason,
            ...(err instanceof DepositTransferError ? {} : { err }),
          },
          "treasury: cannot move funds yet; will retry",
        );
      }
      await db
        .updateTable("treasury_work")
        .set((eb) => ({
          attempts: eb("attempts", "+", 1),
          last_error: reason,
          locked_until: null,
          next_attempt_at: sql<Date>`${now()}::timestamptz + least(${MAX_BACKOFF_MS}, ${intervalMs} * power(2, least(attempts, 12))) * interval '1 millisecond'`,
        }))
        .where("payment_intent_id", "=", job.id)
        .execute();
      return;
    }
    if (step.kind === "done") {
      const gone = await db
        .deleteFrom("treasury_work")
        .where("payment_intent_id", "=", job.id)
        .where("enqueued_at", "=", job.enqueuedAt)
        .executeTakeFirst();
      if (gone.numDeletedRows > 0n) return;
      // Queued again while this pass ran: look again soon.
      await db
        .updateTable("treasury_work")
        .set({ locked_until: null, next_attempt_at: now(), attempts: 0, last_error: null })
        .where("payment_intent_id", "=", job.id)
        .execute();
      return;
    }
    await db
      .updateTable("treasury_work")
      .set({ locked_until: null, next_attempt_at: step.until, attempts: 0, last_error: null })
      .where("payment_intent_id", "=", job.id)
      .execute();
  }

  /**
   * Queues every intent with something left to do. The lifecycle queues work as it decides; this
   * catches intents decided before the treasury existed, or a queue row lost some other way.
   */
  async function discover(): Promise<number> {
    const at = now();
    const result =
      await sql`insert into treasury_work (payment_intent_id, next_attempt_at, enqueued_at)
      select i.id, ${at}, ${at} from payment_intents i
      where i.status <> 'pending' and (
        exists (select 1 from transfers t
          where t.payment_intent_id = i.id and t.state = 'confirmed'
            and (i.status in ('insufficient_not_refunded', 'insufficient_refunded')
              or t.block_timestamp > i.payment_deadline)
            and not exists (select 1 from refunds r
              where r.chain_id = t.chain_id and r.tx_hash = t.tx_hash and r.log_index = t.log_index))
        or exists (select 1 from refunds r
          where r.payment_intent_id = i.id and r.state in ('pending', 'submitted'))
        or (i.status = 'success' and not exists (select 1 from collections c
          where c.payment_intent_id = i.id and c.state in ('waiting_treasury', 'confirmed', 'failed')))
      )
      on conflict (payment_intent_id) do nothing`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  }

  async function tick(): Promise<number> {
    const jobs = await claim();
    for (const job of jobs) await runOne(job);
    return jobs.length;
  }

  const abort = new AbortController();
  let loop: Promise<void> | undefined;

  async function getOrg(orgId: number) {
    const row = await db
      .selectFrom("organizations")
      .select(["id", "treasury_address", "fee_bps"])
      .where("id", "=", orgId)
      .executeTakeFirst();
    if (!row) throw notFound(`organization ${orgId} not found`);
    return { org_id: row.id, treasury_address: row.treasury_address, fee_bps: row.fee_bps };
  }

  return {
    tick,
    discover,
    /** Runs discover() once, then tick() every intervalMs until stop(). */
    start() {
      loop ??= (async () => {
        let discovered = false;
        while (!abort.signal.aborted) {
          try {
            if (!discovered) {
              await discover();
              discovered = true;
            }
            // A full batch means more is waiting: go on at once.
            while ((await tick()) === batchSize && !abort.signal.aborted) {}
          } catch (err) {
            log.error({ err }, "treasury pass failed; will retry");
          }
          await sleepUnlessAborted(intervalMs, abort.signal);
        }
      })();
    },
    async stop() {
      abort.abort();
      await loop;
    },

    getOrganizationTreasury: getOrg,

    /** Sets where an organisation's payments are collected; collections waiting for it resume. */
    async setTreasury(orgId: number, address: string) {
      // Strict: a mixed-case address must carry a valid EIP-55 checksum, so a typo is caught
      // here rather than collecting payments into an address nobody holds.
      if (!isAddress(address)) {
        throw validationError(
          "treasury_address",
          `${address} is not an EVM address (0x and 40 hex digits, lower case or EIP-55 checksummed)`,
        );
      }
      if (address.toLowerCase() === zeroAddress) {
        throw validationError("treasury_address", "must not be the zero address");
      }
      await getOrg(orgId);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("organizations")
          .set({ treasury_address: getAddress(address) })
          .where("id", "=", orgId)
          .execute();
        const waiting = await trx
          .selectFrom("collections")
          .innerJoin("payment_intents", "payment_intents.id", "collections.payment_intent_id")
          .select("collections.payment_intent_id")
          .where("payment_intents.org_id", "=", orgId)
          .where("collections.state", "=", "waiting_treasury")
          .execute();
        for (const w of waiting) await enqueueTreasuryWork(trx, w.payment_intent_id, now());
      });
      return getOrg(orgId);
    },

    /** The operator's fee on the organisation's future collections, in basis points. */
    async setFee(orgId: number, bps: number) {
      assertFeeBps(bps);
      await getOrg(orgId);
      await db.updateTable("organizations").set({ fee_bps: bps }).where("id", "=", orgId).execute();
      return getOrg(orgId);
    },
  };
}

export type TreasuryService = ReturnType<typeof createTreasuryService>;
