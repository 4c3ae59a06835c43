import { delegationCode, depositSweeperAbi, sweeperDeployment } from "@stablegate/contracts";
import { type Kysely, type Selectable, sql } from "kysely";
import type { Logger } from "pino";
import {
  type Address,
  BaseError,
  decodeErrorResult,
  encodeFunctionData,
  formatEther,
  getAddress,
  type Hex,
  parseEventLogs,
  type SignedAuthorization,
} from "viem";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import {
  type ChainTxView,
  type TxManager,
  TxRejectedError,
} from "../chain/tx-manager/tx-manager.ts";
import type { Wallets } from "../chain/wallets.ts";
import type { AddressBook } from "../ledger/address-book.ts";
import { postSweep } from "../ledger/money-events.ts";
import { notifyCall } from "../platform/database/notifications.ts";
import type { Database, SweepsTable } from "../platform/database/schema.ts";
import type { Leases } from "../platform/lease.ts";
import { createWorker, type Worker } from "../platform/worker.ts";
import {
  type DepositAccounts,
  DepositTransferError,
  type DepositTransferRequest,
} from "./deposit-accounts.ts";
import { TreasuryWorkStoppedError } from "./deposit-sender.ts";

type Sweep = Selectable<SweepsTable>;

/** A member's payment intent was reversed by a deep reorg: found where the batch is signed. */
class MemberRefusedError extends Error {
  constructor(
    readonly sweep: Sweep,
    readonly reason: TreasuryWorkStoppedError,
  ) {
    super(`sweep ${sweep.idempotency_key}: ${reason.message}`);
  }
}

export interface SweepDepositAccountsOptions {
  db: Kysely<Database>;
  chains: ChainRegistry;
  txManager: Pick<TxManager, "submit" | "byKey" | "get" | "estimate" | "client">;
  wallets: Pick<Wallets, "depositAccount" | "gasWallet">;
  leases: Leases;
  book: AddressBook;
  log: Logger;
  /** A batch goes out once this many sweeps wait (SWEEP_BATCH_SIZE)... */
  batchSize: number;
  /** ...or once the oldest has waited this long (SWEEP_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** How often the batcher looks (and settles mined batches). */
  intervalMs: number;
  /**
   * Whether the chain uses this strategy now (GAS_STRATEGY_<CHAIN>). A chain switched to top-ups
   * keeps its batcher only while sweeps requested before the switch are unsettled.
   */
  enabled?: (chainKey: string) => boolean;
  now?: () => Date;
  /** The longest a batcher sleeps with nothing open or in flight (default SWEEPS_MAX_SLEEP_MS). */
  maxSleepMs?: number;
}

/** Sent (at commit, payload the chain key) when a sweep is opened: it wakes that chain's batcher. */
export const SWEEPS_TOPIC = "sweeps";

/** A batcher's safety net: with nothing open or in flight it still looks this often. */
export const SWEEPS_MAX_SLEEP_MS = 60_000;

/**
 * The EIP-7702 strategy: a deposit address never holds native coin. transfer() records the
 * request as a sweep (keyed by the caller's idempotency key) and answers "waiting"; a batcher per
 * chain gathers open sweeps into ONE sweepMany transaction from the gas wallet, carrying an
 * authorization for each deposit address not yet delegated to the sweeper. Once that transaction
 * is confirmed, each sweep's own SweepResult decides it, and transfer() answers "submitted" with
 * the batch transaction as that sweep saw it (a failed call in a confirmed batch is "failed").
 */
export function createSweepDepositAccounts(options: SweepDepositAccountsOptions) {
  const { db, chains, txManager, wallets, leases, log } = options;
  const now = options.now ?? (() => new Date());
  const leaseName = (chainKey: string) => `sweep-batcher:${chainKey}`;
  const deployed = new Set<string>();
  const ticked = new Set<string>();

  const sweeper = () => sweeperDeployment(wallets.gasWallet().address);
  // A waiting caller asks again after this rather than on every treasury pass: hundreds of
  // intents polling a batch that is seconds away cost the database more than the batch saves.
  const retryAfterMs = Math.min(options.maxWaitMs, 2000);
  const maxSleepMs = options.maxSleepMs ?? SWEEPS_MAX_SLEEP_MS;

  async function view(sweep: Sweep): Promise<ChainTxView> {
    const batch = await db
      .selectFrom("sweep_batches")
      .select("chain_tx_id")
      .where("id", "=", sweep.batch_id as number)
      .executeTakeFirstOrThrow();
    const tx = await txManager.get(Number(batch.chain_tx_id));
    if (!tx) throw new Error(`sweep batch ${sweep.batch_id}: chain transaction missing`);
    return sweep.state === "failed"
      ? { ...tx, state: "failed", error: sweep.result ?? tx.error }
      : { ...tx, state: "confirmed" };
  }

  async function transfer(request: DepositTransferRequest) {
    // Sent as its own transaction before the chain moved to this strategy: that one stands.
    const existing = await txManager.byKey(request.idempotencyKey);
    if (existing) return { state: "submitted" as const, tx: existing };
    if (request.amount <= 0n) {
      throw new DepositTransferError(
        `${request.idempotencyKey}: a sweep needs an amount above 0, not ${request.amount}`,
      );
    }
    const sweep = await db
      .selectFrom("sweeps")
      .selectAll()
      .where("idempotency_key", "=", request.idempotencyKey)
      .executeTakeFirst();
    if (!sweep) {
      // The batcher may run on another process (it holds the chain's lease): the insert notifies
      // SWEEPS_TOPIC in the same statement, and the local batcher is nudged at once as well.
      await db
        .with("opened", (qb) =>
          qb
            .insertInto("sweeps")
            .values({
              chain_id: request.chainKey,
              deposit_index: request.depositIndex,
              deposit_address: wallets.depositAccount(request.depositIndex).address,
              token_address: getAddress(request.token),
              to_address: getAddress(request.to),
              amount: request.amount,
              purpose: request.purpose,
              idempotency_key: request.idempotencyKey,
              state: "open",
            })
            .onConflict((oc) => oc.column("idempotency_key").doNothing())
            .returning("id"),
        )
        .selectFrom("opened")
        .select(sql`${notifyCall(SWEEPS_TOPIC, request.chainKey)}`.as("notified"))
        .execute();
      workers.get(request.chainKey)?.nudge();
      return {
        state: "waiting" as const,
        reason: "queued for the next sweep batch",
        retryAfterMs,
        concurrent: true,
      };
    }
    switch (sweep.state) {
      case "open":
        return {
          state: "waiting" as const,
          reason: "waiting for the next sweep batch",
          retryAfterMs,
          concurrent: true,
        };
      case "batched": {
        const batch = await db
          .selectFrom("sweep_batches")
          .select("error")
          .where("id", "=", sweep.batch_id as number)
          .executeTakeFirst();
        if (batch?.error) throw new DepositTransferError(batch.error);
        return {
          state: "waiting" as const,
          reason: `in sweep batch ${sweep.batch_id}`,
          retryAfterMs,
          concurrent: true,
        };
      }
      case "stopped":
        throw new TreasuryWorkStoppedError(sweep.result ?? request.idempotencyKey);
      default:
        return { state: "submitted" as const, tx: await view(sweep) };
    }
  }

  /** Deploys the gas wallet's sweeper on a chain if its code is not there yet. */
  async function ensureSweeper(chainKey: string): Promise<Address | undefined> {
    const { address, to, deployData } = sweeper();
    if (deployed.has(chainKey)) return address;
    const code = await txManager.client(chainKey).getCode({ address });
    if (code && code !== "0x") {
      deployed.add(chainKey);
      return address;
    }
    const tx = await txManager.submit({
      chainKey,
      from: wallets.gasWallet(),
      to,
      data: deployData,
      purpose: "deploy_sweeper",
      idempotencyKey: `deploy-sweeper:${chainKey}`,
    });
    if (tx.state === "failed") {
      log.error({ chain: chainKey, tx_hash: tx.txHash }, "deploying the sweeper failed");
    }
    return undefined;
  }

  /**
   * Open sweeps become a batch once enough wait or the oldest has waited long enough. Nothing
   * open: undefined; open but not due yet: when the oldest will have waited long enough.
   */
  async function formBatch(
    chainKey: string,
  ): Promise<{ formed: number } | { dueAt: number } | undefined> {
    const open = await db
      .selectFrom("sweeps")
      .selectAll()
      .where("chain_id", "=", chainKey)
      .where("state", "=", "open")
      .orderBy("id")
      .limit(options.batchSize * 4)
      .execute();
    const oldest = open[0];
    if (!oldest) return undefined;
    const due =
      open.length >= options.batchSize ||
      now().getTime() - oldest.created_at.getTime() >= options.maxWaitMs;
    if (!due) return { dueAt: oldest.created_at.getTime() + options.maxWaitMs };
    const members = open.slice(0, options.batchSize);
    const formed = await db.transaction().execute(async (trx) => {
      const batch = await trx
        .insertInto("sweep_batches")
        .values({ chain_id: chainKey })
        .returning("id")
        .executeTakeFirstOrThrow();
      await trx
        .updateTable("sweeps")
        .set({ batch_id: batch.id, state: "batched", updated_at: now() })
        .where(
          "id",
          "in",
          members.map((m) => m.id),
        )
        .where("state", "=", "open")
        .execute();
      return batch.id;
    });
    return { formed };
  }

  /** Authorizations for the accounts not yet delegated to the sweeper (their code says so). */
  async function authorizations(
    chainKey: string,
    sweeperAddress: Address,
    members: Sweep[],
  ): Promise<SignedAuthorization[]> {
    const c = txManager.client(chainKey);
    const wanted = delegationCode(sweeperAddress);
    const chainId = chains.get(chainKey).evmChainId;
    const out: SignedAuthorization[] = [];
    const seen = new Set<number>();
    for (const m of members) {
      if (seen.has(m.deposit_index)) continue;
      seen.add(m.deposit_index);
      const account = wallets.depositAccount(m.deposit_index);
      const code = await c.getCode({ address: account.address });
      if (code?.toLowerCase() === wanted) continue;
      // The account's next nonce: a deposit address sends nothing itself under this strategy,
      // so it stays valid until the batch is mined (and after a reorg, until it is again).
      const nonce = await c.getTransactionCount({ address: account.address, blockTag: "pending" });
      out.push(
        await account.signAuthorization({ contractAddress: sweeperAddress, chainId, nonce }),
      );
    }
    return out;
  }

  async function setBatchError(batchId: number, error: string | null): Promise<void> {
    await db.updateTable("sweep_batches").set({ error }).where("id", "=", batchId).execute();
  }

  /** Signs and sends a written batch (again after a crash: the same key finds the same one). */
  async function submitBatch(chainKey: string, batchId: number, sweeperAddress: Address) {
    for (;;) {
      const members = await db
        .selectFrom("sweeps")
        .selectAll()
        .where("batch_id", "=", batchId)
        .where("state", "=", "batched")
        .orderBy("id")
        .execute();
      if (members.length === 0) return;
      const gasWallet = wallets.gasWallet();
      const authorizationList = await authorizations(chainKey, sweeperAddress, members);
      // One Sweep per address and token, with a transfer per request: a collection's treasury
      // and fee legs share one call into the account (about 8,000 gas less than two calls).
      // They share its SweepResult too, so they succeed or fail together.
      const { sweeps, indexOf } = groupByAccount(members);
      const data = encodeFunctionData({
        abi: depositSweeperAbi,
        functionName: "sweepMany",
        args: [sweeps],
      });
      const estimate = await txManager
        .estimate({
          chainKey,
          from: gasWallet.address,
          to: sweeperAddress,
          data,
          authorizationList,
        })
        .catch(async (err: unknown) => {
          const message = `sweep batch ${batchId} on ${chainKey} would fail: ${err instanceof BaseError ? err.shortMessage : (err as Error).message}`;
          await setBatchError(batchId, message);
          throw new DepositTransferError(message);
        });
      const funds = await txManager.client(chainKey).getBalance({ address: gasWallet.address });
      if (funds < estimate.maxCost) {
        const message =
          `gas wallet ${gasWallet.address} holds ${formatEther(funds)} native coin on ${chainKey}; ` +
          `${formatEther(estimate.maxCost)} is needed for sweep batch ${batchId} of ${members.length} transfers: fund the gas wallet`;
        await setBatchError(batchId, message);
        throw new DepositTransferError(message);
      }
      try {
        await txManager.submit({
          chainKey,
          from: gasWallet,
          to: sweeperAddress,
          data,
          authorizationList,
          gasLimit: estimate.gasLimit,
          fees: {
            maxFeePerGas: estimate.maxFeePerGas,
            maxPriorityFeePerGas: estimate.maxPriorityFeePerGas,
          },
          purpose: "sweep_batch",
          idempotencyKey: `sweep-batch:${batchId}`,
          // Where the batch is signed, under its members' intents' locks (taken in id order, as
          // the lifecycle takes them): a member whose payment a deep reorg reversed meanwhile
          // leaves the batch, and the batch is built again without it. This stands in for the
          // callers' own preconditions, which are closures of the process that asked, while any
          // process may sign the batch; reversals.ts stops the same work on the same condition,
          // and leaves alone a sweep whose batch is signed (handed to the tx manager).
          precondition: async (trx) => {
            const intents = await trx
              .selectFrom("payment_intents")
              .select(["id", "deposit_index", "reversed_at", "reversal_reason"])
              .where(
                "deposit_index",
                "in",
                members.map((m) => m.deposit_index),
              )
              .orderBy("id")
              .forUpdate()
              .execute();
            const byIndex = new Map(intents.map((i) => [i.deposit_index, i]));
            for (const m of members) {
              const intent = byIndex.get(m.deposit_index);
              if (intent?.reversed_at) {
                throw new MemberRefusedError(
                  m,
                  new TreasuryWorkStoppedError(
                    `payment intent ${intent.id} was reversed by a deep reorg (${intent.reversal_reason ?? "no reason recorded"}); ${m.idempotency_key} needs a person`,
                  ),
                );
              }
              await trx
                .updateTable("sweeps")
                .set({ batch_index: indexOf.get(m.id) as number })
                .where("id", "=", m.id)
                .execute();
            }
          },
          recordWith: async (trx, tx) => {
            await trx
              .updateTable("sweep_batches")
              .set({ chain_tx_id: tx.id, error: null })
              .where("id", "=", batchId)
              .execute();
          },
        });
        return;
      } catch (err) {
        if (err instanceof MemberRefusedError) {
          // The request ends as a stopped one does with its caller (nothing was sent for it).
          await db
            .updateTable("sweeps")
            .set({ state: "stopped", result: err.reason.message, updated_at: now() })
            .where("id", "=", err.sweep.id)
            .execute();
          log.warn({ sweep: err.sweep.id }, err.message);
          continue;
        }
        if (err instanceof TxRejectedError) {
          const message = `sweep batch ${batchId} on ${chainKey} refused (${err.kind}): ${err.message}`;
          await setBatchError(batchId, message);
          throw new DepositTransferError(message);
        }
        throw err;
      }
    }
  }

  /** A mined batch's results, once its transaction is final: one state per member. */
  async function settleBatch(batchId: number, tx: ChainTxView, sweeperAddress: Address) {
    const results = new Map<number, { ok: boolean; reason: Hex }>();
    if (tx.state === "confirmed") {
      const receipt = await txManager.client(tx.chainKey).getTransactionReceipt({
        hash: tx.txHash,
      });
      const logs = parseEventLogs({
        abi: depositSweeperAbi,
        eventName: "SweepResult",
        logs: receipt.logs.filter((l) => l.address.toLowerCase() === sweeperAddress.toLowerCase()),
      });
      for (const l of logs)
        results.set(Number(l.args.index), { ok: l.args.ok, reason: l.args.reason });
    }
    const cost =
      tx.gasUsed !== null && tx.effectiveGasPrice !== null
        ? tx.gasUsed * tx.effectiveGasPrice
        : null;
    await db.transaction().execute(async (trx) => {
      const members = await trx
        .selectFrom("sweeps")
        .selectAll()
        .where("batch_id", "=", batchId)
        .where("state", "=", "batched")
        .forUpdate()
        .execute();
      // An equal share of the batch's gas for every member, the failed ones too: each took a call.
      const share = cost === null || members.length === 0 ? null : cost / BigInt(members.length);
      for (const m of members) {
        const r = m.batch_index === null ? undefined : results.get(m.batch_index);
        const ok = r?.ok === true;
        const result = ok
          ? null
          : tx.state !== "confirmed"
            ? `sweep batch ${tx.txHash} failed: ${tx.error ?? "unknown"}`
            : r
              ? `sweep failed in batch ${tx.txHash}: ${describeReason(r.reason)}`
              : `sweep batch ${tx.txHash} has no result for it`;
        await trx
          .updateTable("sweeps")
          .set({ state: ok ? "confirmed" : "failed", result, gas_cost: share, updated_at: now() })
          .where("id", "=", m.id)
          .execute();
        if (ok) await postSweep(trx, m, tx, options.book);
      }
    });
  }

  /** One pass for a chain: deploy the sweeper, settle what is final, send what is due. */
  /** Whether a request was ever made a sweep: it stays one, whatever the chain's strategy now. */
  async function has(idempotencyKey: string): Promise<boolean> {
    const row = await db
      .selectFrom("sweeps")
      .select("id")
      .where("idempotency_key", "=", idempotencyKey)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * One pass; resolves to how long the batcher may sleep before the next is needed: the interval
   * (undefined) while a batch is in flight, a deployment is pending or another process holds the
   * lease (a standby tries to take it over); until the oldest open sweep is due; or, with nothing
   * open or in flight, the safety net (a new sweep wakes the batcher: SWEEPS_TOPIC and nudge()).
   */
  async function tick(chainKey: string): Promise<number | undefined> {
    if (options.enabled && !options.enabled(chainKey)) {
      const unsettled = await db
        .selectFrom("sweeps")
        .select("id")
        .where("chain_id", "=", chainKey)
        .where("state", "in", ["open", "batched"])
        .executeTakeFirst();
      if (!unsettled) return maxSleepMs;
    }
    const lease = await leases.claim(leaseName(chainKey));
    if (!lease) return undefined;
    ticked.add(chainKey);
    const sweeperAddress = await ensureSweeper(chainKey);
    if (!sweeperAddress) return undefined;
    const batches = await db
      .selectFrom("sweep_batches")
      .leftJoin("chain_txs", "chain_txs.id", "sweep_batches.chain_tx_id")
      .select(["sweep_batches.id", "sweep_batches.chain_tx_id", "chain_txs.state"])
      .where("sweep_batches.chain_id", "=", chainKey)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("sweeps")
            .select("sweeps.id")
            .whereRef("sweeps.batch_id", "=", "sweep_batches.id")
            .where("sweeps.state", "=", "batched"),
        ),
      )
      .orderBy("sweep_batches.id")
      .execute();
    for (const b of batches) {
      if (lease.signal.aborted) return undefined;
      const id = b.id;
      try {
        if (b.chain_tx_id === null) {
          await submitBatch(chainKey, id, sweeperAddress);
        } else if (b.state === "confirmed" || b.state === "failed") {
          const tx = await txManager.get(Number(b.chain_tx_id));
          if (tx) await settleBatch(id, tx, sweeperAddress);
        }
      } catch (err) {
        // Told to the members' callers (sweep_batches.error); the next pass tries again.
        log.warn({ err, chain: chainKey, batch: id }, "sweep batch not sent");
      }
    }
    if (lease.signal.aborted) return undefined;
    const next = await formBatch(chainKey);
    if (next && "formed" in next) {
      await submitBatch(chainKey, next.formed, sweeperAddress).catch((err: unknown) => {
        log.warn({ err, chain: chainKey, batch: next.formed }, "sweep batch not sent");
      });
      return undefined;
    }
    // A batch still on its way: its transaction is followed at the interval.
    if (batches.length > 0) return undefined;
    if (next) return Math.max(0, Math.min(next.dueAt - now().getTime() + 1, maxSleepMs));
    return maxSleepMs;
  }

  const workers = new Map<string, Worker>();

  const accounts: DepositAccounts = {
    transfer,
    // A sweep's share of its batch's gas is written when the batch is settled (gas_cost).
    async settled() {},
  };

  return {
    ...accounts,
    has,
    tick,
    ensureSweeper,
    sweeperAddress: () => sweeper().address,
    start(chainKeys: string[]) {
      for (const key of chainKeys) {
        const worker = createWorker({
          name: `sweep batcher ${key}`,
          log,
          intervalMs: options.intervalMs,
          backoff: { initialMs: options.intervalMs },
          run: async () => {
            const sleepMs = await tick(key);
            return sleepMs === undefined ? "idle" : { idleMs: sleepMs };
          },
        });
        workers.set(key, worker);
        worker.start();
      }
    },
    /** A sweep was opened on this chain (or on every chain): its batcher looks now. */
    nudge(chainKey?: string) {
      if (chainKey === undefined || !workers.has(chainKey)) {
        for (const worker of workers.values()) worker.nudge();
      } else workers.get(chainKey)?.nudge();
    },
    async stop() {
      await Promise.all([...workers.values()].map((w) => w.stop()));
      workers.clear();
      await Promise.all([...ticked].map((key) => leases.release(leaseName(key))));
    },
  };
}

export type SweepDepositAccounts = ReturnType<typeof createSweepDepositAccounts>;

/** The batch's Sweep calls, one per (deposit address, token), and each member's index among them. */
function groupByAccount(members: Sweep[]) {
  const sweeps: {
    account: Address;
    token: Address;
    transfers: { to: Address; amount: bigint }[];
  }[] = [];
  const byAccount = new Map<string, number>();
  const indexOf = new Map<number, number>();
  for (const m of members) {
    const key = `${m.deposit_address.toLowerCase()}:${m.token_address.toLowerCase()}`;
    let index = byAccount.get(key);
    if (index === undefined) {
      index = sweeps.length;
      byAccount.set(key, index);
      sweeps.push({
        account: m.deposit_address as Address,
        token: m.token_address as Address,
        transfers: [],
      });
    }
    sweeps[index]?.transfers.push({ to: m.to_address as Address, amount: BigInt(m.amount) });
    indexOf.set(m.id, index);
  }
  return { sweeps, indexOf };
}

/** A failed sweep's revert data, named by the sweeper's errors where it is one of them. */
function describeReason(reason: Hex): string {
  if (reason === "0x") return "reverted without a reason";
  try {
    const e = decodeErrorResult({ abi: depositSweeperAbi, data: reason });
    return `${e.errorName}(${(e.args ?? []).map(String).join(", ")})`;
  } catch {
    return reason;
  }
}
