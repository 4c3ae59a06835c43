import { randomBytes } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { Logger } from "pino";
import {
  type Address,
  createPublicClient,
  fallback,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { sleep } from "../../platform/abort.ts";
import type {
  ChainTxPurpose,
  ChainTxState,
  ChainTxsTable,
  Database,
} from "../../platform/database/schema.ts";
import type { ChainRegistry } from "../chain-registry.ts";
import type { ConfirmationPolicy } from "../follower/index.ts";
import { classifyTxError, type TxErrorKind } from "./classify-error.ts";

export interface TxRequest {
  chainKey: string;
  from: PrivateKeyAccount;
  to: Address;
  data?: Hex;
  value?: bigint;
  /** Skips estimation (a plain native transfer needs 21000). */
  gasLimit?: bigint;
  /**
   * Sign with these fees (from an estimate() the caller has already checked the sender's balance
   * against) rather than fresh ones that may be higher than what the sender can pay.
   */
  fees?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  purpose: ChainTxPurpose;
  /** One key, one on-chain effect: a second submit with it returns the first transaction. */
  idempotencyKey: string;
}

export interface ChainTxView {
  id: number;
  idempotencyKey: string;
  purpose: ChainTxPurpose;
  chainKey: string;
  sender: Address;
  nonce: number;
  to: Address;
  value: bigint;
  data: Hex;
  txHash: Hex;
  state: ChainTxState;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  blockNumber: bigint | null;
  gasUsed: bigint | null;
  effectiveGasPrice: bigint | null;
  error: string | null;
  errorKind: string | null;
  createdAt: Date;
}

/** Estimation failed before a nonce was taken: nothing was signed or sent. */
export class TxRejectedError extends Error {
  readonly kind: TxErrorKind;
  constructor(kind: TxErrorKind, message: string) {
    super(message);
    this.name = "TxRejectedError";
    this.kind = kind;
  }
}

export interface TxManagerOptions {
  db: Kysely<Database>;
  chains: ChainRegistry;
  log: Logger;
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
  /** Crash tests: kill this process right after signing or right after broadcasting. */
  crashAt?: "after-sign" | "after-broadcast" | undefined;
}

const LEASE_MS = 30_000;

function toView(row: Selectable<ChainTxsTable>): ChainTxView {
  const big = (v: string | number | null) => (v === null ? null : BigInt(v));
  return {
    id: Number(row.id),
    idempotencyKey: row.idempotency_key,
    purpose: row.purpose,
    chainKey: row.chain_id,
    sender: row.sender as Address,
    nonce: Number(row.nonce),
    to: row.to_address as Address,
    value: BigInt(row.value),
    data: row.data as Hex,
    txHash: row.tx_hash as Hex,
    state: row.state,
    gasLimit: BigInt(row.gas_limit),
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    blockNumber: big(row.block_number),
    gasUsed: big(row.gas_used),
    effectiveGasPrice: big(row.effective_gas_price),
    error: row.error,
    errorKind: row.error_kind,
    createdAt: row.created_at,
  };
}

/**
 * Every outgoing transaction goes through here. A request becomes at most one on-chain effect:
 * its idempotency key is unique, its nonce is taken under the sender's row lock (no gaps, no
 * duplicates), and the signed bytes are stored before the first broadcast, so after a crash the
 * same bytes are sent again. A loop per chain then broadcasts what is unsent, follows receipts to
 * the chain's confirmations (and back, on a reorg), and replaces what is stuck with higher fees.
 * Signers are per role (payout hot wallets, deposit addresses, the gas wallet), so one stuck
 * sender holds only its own queue.
 */
export function createTxManager(options: TxManagerOptions) {
  const { db, chains, log } = options;
  const replaceAfterBlocks = options.replaceAfterBlocks ?? 10;
  const bumpPercent = BigInt(Math.max(10, Math.ceil(options.feeBumpPercent ?? 12.5)));
  const cap = options.maxFeePerGasCap ?? 1_000_000_000_000n; // 1000 gwei
  const holder = randomBytes(8).toString("hex");
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

  async function fees(c: PublicClient, floor?: { maxFee: bigint; priority: bigint }) {
    const [block, suggested] = await Promise.all([
      c.getBlock({ blockTag: "latest" }),
      c.estimateMaxPriorityFeePerGas().catch(() => 1_000_000_000n),
    ]);
    const base = block.baseFeePerGas ?? 0n;
    let priority = suggested;
    // Twice the base fee rides out several full blocks before the transaction is stuck.
    let maxFee = base * 2n + priority;
    if (floor) {
      priority = max(priority, bump(floor.priority));
      maxFee = max(maxFee, bump(floor.maxFee), priority);
    }
    return { maxFee: min(maxFee, cap), priority: min(priority, cap) };
  }
  const bump = (v: bigint) => (v * (100n + bumpPercent) + 99n) / 100n;

  /**
   * The gas limit and fees submit() would sign with now, and the most the sender can be charged
   * for them (gas limit x max fee). Throws the node's error when the call would fail.
   */
  async function estimate(request: {
    chainKey: string;
    from: Address;
    to: Address;
    data?: Hex;
    value?: bigint;
    gasLimit?: bigint;
  }) {
    const c = client(request.chainKey);
    const [gasLimit, fee] = await Promise.all([
      request.gasLimit ??
        c
          .estimateGas({
            account: request.from,
            to: request.to,
            data: request.data ?? "0x",
            value: request.value ?? 0n,
          })
          // A margin: state can change between estimation and inclusion.
          .then((g) => (g * 12n) / 10n),
      fees(c),
    ]);
    return {
      gasLimit,
      maxFeePerGas: fee.maxFee,
      maxPriorityFeePerGas: fee.priority,
      maxCost: gasLimit * fee.maxFee,
    };
  }

  async function byKey(key: string) {
    const row = await db
      .selectFrom("chain_txs")
      .selectAll()
      .where("idempotency_key", "=", key)
      .executeTakeFirst();
    return row && toView(row);
  }

  async function nextNonceRow(chainKey: string, sender: Address) {
    const exists = await db
      .selectFrom("chain_senders")
      .select("next_nonce")
      .where("chain_id", "=", chainKey)
      .where("sender", "=", sender)
      .executeTakeFirst();
    if (exists) return;
    // First use of this sender here: start where the chain is (it may have been used before).
    const pending = await client(chainKey).getTransactionCount({
      address: sender,
      blockTag: "pending",
    });
    await db
      .insertInto("chain_senders")
      .values({ chain_id: chainKey, sender, next_nonce: pending })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  function crash(point: "after-sign" | "after-broadcast") {
    if (options.crashAt !== point) return;
    log.fatal({ point }, "crash requested (STABLEGATE_TX_CRASH_AT)");
    process.kill(process.pid, "SIGKILL");
  }

  async function submit(request: TxRequest): Promise<ChainTxView> {
    const existing = await byKey(request.idempotencyKey);
    if (existing) return existing;
    const chain = chains.get(request.chainKey);
    const c = client(chain.key);
    const sender = request.from.address;
    const data = request.data ?? "0x";
    const value = request.value ?? 0n;
    let gas: bigint;
    let fee: { maxFee: bigint; priority: bigint };
    try {
      if (request.gasLimit !== undefined && request.fees) {
        gas = request.gasLimit;
        fee = { maxFee: request.fees.maxFeePerGas, priority: request.fees.maxPriorityFeePerGas };
      } else {
        const e = await estimate({ ...request, from: sender });
        gas = e.gasLimit;
        fee = { maxFee: e.maxFeePerGas, priority: e.maxPriorityFeePerGas };
      }
    } catch (err) {
      const { kind, message } = classifyTxError(err);
      throw new TxRejectedError(kind, message);
    }
    await nextNonceRow(chain.key, sender);
    const signed = await db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("chain_senders")
        .select("next_nonce")
        .where("chain_id", "=", chain.key)
        .where("sender", "=", sender)
        .forUpdate()
        .executeTakeFirstOrThrow();
      // Re-checked under the sender's lock: a concurrent submit of the same key has committed.
      const again = await trx
        .selectFrom("chain_txs")
        .selectAll()
        .where("idempotency_key", "=", request.idempotencyKey)
        .executeTakeFirst();
      if (again) return again;
      const nonce = Number(row.next_nonce);
      const raw = await request.from.signTransaction({
        chainId: chain.evmChainId,
        type: "eip1559",
        nonce,
        to: request.to,
        data,
        value,
        gas,
        maxFeePerGas: fee.maxFee,
        maxPriorityFeePerGas: fee.priority,
      });
      const hash = keccak256(raw);
      await trx
        .updateTable("chain_senders")
        .set({ next_nonce: nonce + 1 })
        .where("chain_id", "=", chain.key)
        .where("sender", "=", sender)
        .execute();
      const inserted = await trx
        .insertInto("chain_txs")
        .values({
          idempotency_key: request.idempotencyKey,
          purpose: request.purpose,
          chain_id: chain.key,
          sender,
          nonce,
          to_address: request.to,
          value,
          data,
          gas_limit: gas,
          max_fee_per_gas: fee.maxFee,
          max_priority_fee_per_gas: fee.priority,
          tx_hash: hash,
          raw_tx: raw,
          state: "signed",
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("chain_tx_attempts")
        .values({
          chain_tx_id: inserted.id,
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: fee.maxFee,
          max_priority_fee_per_gas: fee.priority,
        })
        .execute();
      return inserted;
    });
    if (signed.state !== "signed") return toView(signed);
    crash("after-sign");
    log.info(
      {
        chain: chain.key,
        purpose: request.purpose,
        tx_hash: signed.tx_hash,
        nonce: Number(signed.nonce),
      },
      "transaction signed",
    );
    try {
      await broadcast(signed, await c.getBlockNumber());
    } catch (err) {
      // Stored and signed: the loop sends it again.
      log.warn({ err, tx_hash: signed.tx_hash }, "first broadcast failed; will retry");
    }
    return (await byKey(request.idempotencyKey)) as ChainTxView;
  }

  async function setError(row: Selectable<ChainTxsTable>, kind: TxErrorKind, message: string) {
    if (row.error_kind !== kind) {
      // Logged once per change of reason: an operator sees each new problem, not every retry.
      const alert = kind === "insufficient_funds" || kind === "rpc" ? "error" : "warn";
      log[alert](
        { chain: row.chain_id, sender: row.sender, nonce: Number(row.nonce), kind, message },
        kind === "insufficient_funds"
          ? "transaction cannot be sent: the sender needs funds"
          : "transaction broadcast failed",
      );
    }
    await db
      .updateTable("chain_txs")
      .set({ error_kind: kind, error: message, updated_at: new Date() })
      .where("id", "=", row.id)
      .execute();
  }

  /** Sends the current signed bytes; a node that already has them is a success. */
  async function broadcast(row: Selectable<ChainTxsTable>, head: bigint): Promise<void> {
    try {
      await client(row.chain_id).sendRawTransaction({ serializedTransaction: row.raw_tx as Hex });
    } catch (err) {
      const { kind, message } = classifyTxError(err);
      // "nonce too low": this nonce is mined, probably as this very transaction; receipts tell.
      if (kind !== "already_known" && kind !== "nonce_too_low") {
        await setError(row, kind, message);
        return;
      }
    }
    crash("after-broadcast");
    if (row.state === "signed") {
      await db
        .updateTable("chain_txs")
        .set({ state: "broadcast", broadcast_block: head, updated_at: new Date() })
        .where("id", "=", row.id)
        .where("state", "=", "signed")
        .execute();
    }
  }

  async function findReceipt(row: Selectable<ChainTxsTable>): Promise<TransactionReceipt | null> {
    const hashes = await db
      .selectFrom("chain_tx_attempts")
      .select("tx_hash")
      .where("chain_tx_id", "=", row.id)
      .orderBy("id", "desc")
      .execute();
    for (const { tx_hash } of hashes) {
      try {
        return await client(row.chain_id).getTransactionReceipt({ hash: tx_hash as Hex });
      } catch (err) {
        if (!(err instanceof TransactionReceiptNotFoundError)) throw err;
      }
    }
    return null;
  }

  async function replace(row: Selectable<ChainTxsTable>, head: bigint): Promise<void> {
    const c = client(row.chain_id);
    const oldMax = BigInt(row.max_fee_per_gas);
    const fee = await fees(c, { maxFee: oldMax, priority: BigInt(row.max_priority_fee_per_gas) });
    if (fee.maxFee <= oldMax) {
      await setError(row, "underpriced", `stuck at the fee cap (${cap} wei per gas)`);
      await broadcast(row, head);
      return;
    }
    const chain = chains.get(row.chain_id);
    const signer =
      signers.get(`${row.chain_id}:${row.sender}`) ??
      (await options.resolveSigner?.(row.sender as Address));
    if (!signer) {
      log.error(
        { chain: row.chain_id, sender: row.sender },
        "no key to replace a stuck transaction",
      );
      await broadcast(row, head);
      return;
    }
    const raw = await signer.signTransaction({
      chainId: chain.evmChainId,
      type: "eip1559",
      nonce: Number(row.nonce),
      to: row.to_address as Address,
      data: row.data as Hex,
      value: BigInt(row.value),
      gas: BigInt(row.gas_limit),
      maxFeePerGas: fee.maxFee,
      maxPriorityFeePerGas: fee.priority,
    });
    const hash = keccak256(raw);
    const updated = await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("chain_tx_attempts")
        .values({
          chain_tx_id: row.id,
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: fee.maxFee,
          max_priority_fee_per_gas: fee.priority,
        })
        .execute();
      return trx
        .updateTable("chain_txs")
        .set({
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: fee.maxFee,
          max_priority_fee_per_gas: fee.priority,
          broadcast_block: head,
          updated_at: new Date(),
        })
        .where("id", "=", row.id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    log.warn(
      {
        chain: row.chain_id,
        sender: row.sender,
        nonce: Number(row.nonce),
        old_max_fee: oldMax.toString(),
        max_fee: fee.maxFee.toString(),
        tx_hash: hash,
      },
      "transaction not mined in time; replaced with higher fees",
    );
    await broadcast(updated, head);
  }

  async function isConfirmed(chainKey: string, blockNumber: bigint, head: bigint) {
    const policy = options.confirmations(chainKey);
    if (typeof policy === "number") return head - blockNumber + 1n >= BigInt(policy);
    const tagged = await client(chainKey).getBlock({ blockTag: policy });
    return tagged.number !== null && blockNumber <= tagged.number;
  }

  async function followMined(row: Selectable<ChainTxsTable>, head: bigint) {
    const number = BigInt(row.block_number as string | number);
    const block = await client(row.chain_id)
      .getBlock({ blockNumber: number })
      .catch(() => null);
    if (!block || block.hash !== row.block_hash) {
      // Reorganised away: back to waiting for a receipt, and the same bytes go out again.
      log.warn({ chain: row.chain_id, tx_hash: row.tx_hash }, "transaction reorganised out");
      await db
        .updateTable("chain_txs")
        .set({
          state: "broadcast",
          block_number: null,
          block_hash: null,
          broadcast_block: head,
          updated_at: new Date(),
        })
        .where("id", "=", row.id)
        .execute();
      await broadcast({ ...row, state: "broadcast" }, head);
      return;
    }
    if (!(await isConfirmed(row.chain_id, number, head))) return;
    const reverted = row.error_kind === "reverted";
    await db
      .updateTable("chain_txs")
      .set({ state: reverted ? "failed" : "confirmed", updated_at: new Date() })
      .where("id", "=", row.id)
      .where("state", "=", "mined")
      .execute();
    if (reverted) log.error({ chain: row.chain_id, tx_hash: row.tx_hash }, "transaction reverted");
  }

  async function followBroadcast(row: Selectable<ChainTxsTable>, head: bigint) {
    const receipt = await findReceipt(row);
    if (receipt) {
      await db
        .updateTable("chain_txs")
        .set({
          state: "mined",
          tx_hash: receipt.transactionHash,
          block_number: receipt.blockNumber,
          block_hash: receipt.blockHash,
          gas_used: receipt.gasUsed,
          effective_gas_price: receipt.effectiveGasPrice,
          ...(receipt.status === "reverted"
            ? { error_kind: "reverted", error: "the transaction reverted on chain" }
            : { error_kind: null, error: null }),
          updated_at: new Date(),
        })
        .where("id", "=", row.id)
        .execute();
      return;
    }
    const waited = head - BigInt(row.broadcast_block ?? head);
    if (waited >= BigInt(replaceAfterBlocks)) {
      // None of our versions is mined, yet the chain is past this nonce: another transaction
      // from the same key took it. Replacing cannot help; a person has to look.
      const mined = await client(row.chain_id).getTransactionCount({
        address: row.sender as Address,
        blockTag: "latest",
      });
      // Receipts again: one of ours may have been mined since the first look.
      if (mined > Number(row.nonce) && !(await findReceipt(row))) {
        const message = `nonce ${row.nonce} was used by a transaction this gateway did not send`;
        log.error({ chain: row.chain_id, sender: row.sender }, message);
        await db
          .updateTable("chain_txs")
          .set({
            state: "failed",
            error_kind: "nonce_too_low",
            error: message,
            updated_at: new Date(),
          })
          .where("id", "=", row.id)
          .execute();
        return;
      }
      await replace(row, head);
    }
    // A node may have dropped it (restart, mempool eviction): sending again costs nothing.
    else await broadcast(row, head);
  }

  async function holdLease(chainKey: string): Promise<boolean> {
    const now = new Date();
    const until = new Date(now.getTime() + LEASE_MS);
    await db
      .insertInto("tx_manager_leases")
      .values({ chain_id: chainKey, holder, until })
      .onConflict((oc) =>
        oc
          .column("chain_id")
          .doUpdateSet({ holder, until })
          .where((eb) =>
            eb.or([
              eb("tx_manager_leases.holder", "=", holder),
              eb("tx_manager_leases.until", "<", now),
            ]),
          ),
      )
      .execute();
    const lease = await db
      .selectFrom("tx_manager_leases")
      .select("holder")
      .where("chain_id", "=", chainKey)
      .executeTakeFirst();
    return lease?.holder === holder;
  }

  /** One pass over a chain's open transactions. */
  async function tick(chainKey: string): Promise<void> {
    const open = await db
      .selectFrom("chain_txs")
      .selectAll()
      .where("chain_id", "=", chainKey)
      .where("state", "in", ["signed", "broadcast", "mined"])
      .orderBy("sender")
      .orderBy("nonce")
      .execute();
    if (open.length === 0 || !(await holdLease(chainKey))) return;
    const head = await client(chainKey).getBlockNumber();
    for (const row of open) {
      try {
        // Refused as underpriced at its broadcast: only a new version with higher fees will do.
        if (row.state === "signed" && row.error_kind === "underpriced") await replace(row, head);
        else if (row.state === "signed") await broadcast(row, head);
        else if (row.state === "broadcast") await followBroadcast(row, head);
        else await followMined(row, head);
      } catch (err) {
        log.warn({ err, chain: chainKey, tx_hash: row.tx_hash }, "following a transaction failed");
      }
    }
  }

  const abort = new AbortController();
  let loops: Promise<void>[] = [];

  return {
    submit: async (request: TxRequest) => {
      signers.set(`${request.chainKey}:${request.from.address}`, request.from);
      return submit(request);
    },
    byKey,
    estimate,
    /** The RPC client the manager uses for a chain, for callers' reads (balances, estimates). */
    client,
    async get(id: number): Promise<ChainTxView | undefined> {
      const row = await db
        .selectFrom("chain_txs")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row && toView(row);
    },
    tick,
    start(chainKeys: string[]) {
      loops = chainKeys.map(async (key) => {
        const interval = options.pollIntervalMs?.(key) ?? 2000;
        while (!abort.signal.aborted) {
          try {
            await tick(key);
          } catch (err) {
            log.warn({ err, chain: key }, "transaction manager pass failed; will retry");
          }
          await sleep(interval, abort.signal);
        }
      });
    },
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
      // Another process may take over at once rather than after the lease.
      await db
        .deleteFrom("tx_manager_leases")
        .where("holder", "=", holder)
        .execute()
        .catch(() => {});
    },
  };
}

export type TxManager = ReturnType<typeof createTxManager>;

const max = (...v: bigint[]) => v.reduce((a, b) => (a > b ? a : b));
const min = (a: bigint, b: bigint) => (a < b ? a : b);
