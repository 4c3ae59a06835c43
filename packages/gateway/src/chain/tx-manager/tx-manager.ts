import type { Kysely, Transaction } from "kysely";
import type { Logger } from "pino";
import { type Address, createPublicClient, fallback, http, type PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ChainTxPurpose, Database } from "../../platform/database/schema.ts";
import type { Leases } from "../../platform/lease.ts";
import { createWorker, type Worker } from "../../platform/worker.ts";
import type { ChainRegistry } from "../chain-registry.ts";
import type { ConfirmationPolicy } from "../follower/index.ts";
import { type CrashPoint, createBroadcaster } from "./broadcaster.ts";
import { type ChainTxRow, createChainTxViews } from "./chain-tx-view.ts";
import { createFeeOracle } from "./fee-oracle.ts";
import { createReceiptFollower } from "./receipt-follower.ts";
import { createReplacer } from "./replacer.ts";
import { createSubmitter, type TxRequest } from "./submitter.ts";

export type { ChainTxView } from "./chain-tx-view.ts";
export { CHAIN_TXS_TOPIC } from "./submitter.ts";

// A day: a chain with nothing open is not read at all; this only bounds the damage of a lost
// notification that no listener reset reported.
const IDLE_WAKE_MS = 24 * 60 * 60 * 1000;

export { TxRejectedError, type TxRequest } from "./submitter.ts";

export interface TxManagerOptions {
  db: Kysely<Database>;
  chains: ChainRegistry;
  log: Logger;
  /** One process follows a chain's transactions at a time: the lease `tx-manager:<chain>`. */
  leases: Leases;
  confirmations: (chainKey: string) => ConfirmationPolicy;
  /** A transaction not mined this many blocks after its broadcast is replaced with higher fees. */
  replaceAfterBlocks?: number;
  /** Each replacement raises both fees by at least this many percent (nodes require 10). */
  feeBumpPercent?: number;
  /** No fee goes above this (wei per gas); a transaction stuck at the cap is an alert. */
  maxFeePerGasCap?: bigint;
  pollIntervalMs?: (chainKey: string) => number;
  /** RPC client per chain; by default one over the chain's RPC URLs. */
  client?: (chainKey: string) => PublicClient;
  /**
   * The key for one of our addresses, to sign a replacement after a restart (a deposit address,
   * a hot wallet, the gas wallet). Keys used by submit() in this process are known already.
   */
  resolveSigner?: (address: Address) => Promise<PrivateKeyAccount | undefined>;
  /** Crash tests only: kill this process right after signing or right after broadcasting. */
  crashAt?: CrashPoint | undefined;
  /** With crashAt: only a transaction of this purpose (a refund, not its gas top-up). */
  crashPurpose?: ChainTxPurpose | undefined;
  now?: () => Date;
  /**
   * Called in the transaction that marks a mined transaction confirmed (or failed: reverted), so
   * what it records (the ledger's entry) commits with the state or not at all.
   */
  onSettled?: ((trx: Transaction<Database>, row: ChainTxRow) => Promise<void>) | undefined;
  /** Told of every replacement of a stuck transaction (for /metrics). */
  onReplaced?: ((chainKey: string) => void) | undefined;
}

/**
 * Every outgoing transaction goes through here. submit() signs and stores before it sends (see
 * submitter.ts); a worker per chain then broadcasts what is unsent, follows receipts to the
 * chain's confirmations (and back, on a reorg), and replaces what is stuck with higher fees.
 * Signers are per role (payout hot wallets, deposit addresses, the gas wallet), so one stuck
 * sender holds only its own queue.
 */
export function createTxManager(options: TxManagerOptions) {
  const { db, chains, log } = options;
  const now = options.now ?? (() => new Date());
  const clients = new Map<string, PublicClient>();
  const signers = new Map<string, PrivateKeyAccount>();

  function client(chainKey: string): PublicClient {
    if (options.client) return options.client(chainKey);
    let c = clients.get(chainKey);
    if (!c) {
      const chain = chains.get(chainKey);
      if (chain.rpcUrls.length === 0) throw new Error(`${chainKey}: no RPC URL configured`);
      c = createPublicClient({
        // viem caches the block number for its polling interval; the head must be current.
        cacheTime: 0,
        transport: fallback(chain.rpcUrls.map((u) => http(u, { retryCount: 1, timeout: 10_000 }))),
      }) as PublicClient;
      clients.set(chainKey, c);
    }
    return c;
  }

  function crash(point: CrashPoint, purpose: ChainTxPurpose) {
    if (options.crashAt !== point) return;
    if (options.crashPurpose !== undefined && options.crashPurpose !== purpose) return;
    log.fatal({ point }, "crash requested (crashAt option)");
    process.kill(process.pid, "SIGKILL");
  }

  const views = createChainTxViews(db);
  const leaseName = (chainKey: string) => `tx-manager:${chainKey}`;
  const ticked = new Set<string>();
  const fees = createFeeOracle({
    chains,
    client,
    cap: options.maxFeePerGasCap ?? 1_000_000_000_000n, // 1000 gwei
    bumpPercent: options.feeBumpPercent ?? 12.5,
  });
  const broadcaster = createBroadcaster({ db, client, log, now, crash });
  const replace = createReplacer({
    db,
    chains,
    log,
    now,
    fees,
    broadcaster,
    onReplaced: options.onReplaced,
    signerFor: async (row) =>
      signers.get(`${row.chain_id}:${row.sender}`) ??
      (await options.resolveSigner?.(row.sender as Address)),
  });
  const follower = createReceiptFollower({
    db,
    client,
    log,
    now,
    confirmations: options.confirmations,
    replaceAfterBlocks: options.replaceAfterBlocks ?? 10,
    broadcaster,
    replace,
    onSettled: options.onSettled,
  });
  const submit = createSubmitter({ db, chains, client, log, fees, views, broadcaster, crash });

  /** One pass over a chain's open transactions; true when some are open (more passes due). */
  async function tick(chainKey: string): Promise<boolean> {
    const open = await db
      .selectFrom("chain_txs")
      .selectAll()
      .where("chain_id", "=", chainKey)
      .where("state", "in", ["signed", "broadcast", "mined"])
      .orderBy("sender")
      .orderBy("nonce")
      .execute();
    if (open.length === 0) return false;
    ticked.add(chainKey);
    const lease = await options.leases.claim(leaseName(chainKey));
    if (!lease) return true;
    const head = await client(chainKey).getBlockNumber();
    for (const row of open) {
      // Lost to another process mid-pass: that one follows the rest.
      if (lease.signal.aborted) return true;
      try {
        // Refused as underpriced at its broadcast: only a new version with higher fees will do.
        if (row.state === "signed" && row.error_kind === "underpriced") await replace(row, head);
        else if (row.state === "signed") await broadcaster.broadcast(row, head);
        else if (row.state === "broadcast") await follower.followBroadcast(row, head);
        else await follower.followMined(row, head);
      } catch (err) {
        log.warn({ err, chain: chainKey, tx_hash: row.tx_hash }, "following a transaction failed");
      }
    }
    return true;
  }

  const workers = new Map<string, Worker>();
  const wakeups = new Map<string, NodeJS.Timeout>();

  return {
    submit(request: TxRequest) {
      signers.set(`${request.chainKey}:${request.from.address}`, request.from);
      return submit(request);
    },
    byKey: views.byKey,
    /**
     * The gas limit and fees submit() would sign with now, and the most the sender can be
     * charged for them (gas limit x max fee). Throws the node's error when the call would fail.
     */
    estimate: fees.estimate,
    /** The RPC client the manager uses for a chain, for callers' reads (balances, estimates). */
    client,
    get: views.get,
    tick,
    /**
     * The manager's loops sleep while their chain has no open transaction: a pass is due again
     * only when one is written (submit() notifies `chain_txs` in its transaction, and the
     * composition root calls this on that notification) or, while some are open, after the
     * chain's poll interval (receipts, replacement deadlines, a lease to take over).
     */
    nudge(chainKey?: string) {
      if (chainKey === undefined || !workers.has(chainKey)) {
        for (const worker of workers.values()) worker.nudge();
      } else workers.get(chainKey)?.nudge();
    },
    start(chainKeys: string[]) {
      for (const key of chainKeys) {
        const pollMs = options.pollIntervalMs?.(key) ?? 2000;
        const worker = createWorker({
          name: `tx-manager ${key}`,
          log,
          // Only a safety net: the pass is woken by nudge() or by its own wake-up below.
          intervalMs: IDLE_WAKE_MS,
          run: async () => {
            clearTimeout(wakeups.get(key));
            if (await tick(key))
              wakeups.set(
                key,
                setTimeout(() => worker.nudge(), pollMs),
              );
            return "idle";
          },
        });
        workers.set(key, worker);
      }
      for (const worker of workers.values()) worker.start();
    },
    async stop() {
      for (const timer of wakeups.values()) clearTimeout(timer);
      await Promise.all([...workers.values()].map((worker) => worker.stop()));
      for (const timer of wakeups.values()) clearTimeout(timer);
      // Another process may take over at once rather than after the lease.
      await Promise.all([...ticked].map((key) => options.leases.release(leaseName(key))));
    },
  };
}

export type TxManager = ReturnType<typeof createTxManager>;
