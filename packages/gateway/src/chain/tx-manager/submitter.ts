import type { Kysely, Transaction } from "kysely";
import type { Logger } from "pino";
import {
  type Address,
  type Hex,
  keccak256,
  type PublicClient,
  type SignedAuthorization,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { notify } from "../../platform/database/notifications.ts";
import type { ChainTxPurpose, Database } from "../../platform/database/schema.ts";
import type { ChainRegistry } from "../chain-registry.ts";
import type { Broadcaster, CrashPoint } from "./broadcaster.ts";
import { type ChainTxView, type ChainTxViews, toChainTxView } from "./chain-tx-view.ts";
import { classifyTxError, type TxErrorKind } from "./classify-error.ts";
import type { FeeOracle, Fees } from "./fee-oracle.ts";

/** The notification topic of a new transaction to follow; the payload is its chain key. */
export const CHAIN_TXS_TOPIC = "chain_txs";

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
  fees?: Fees;
  /**
   * EIP-7702 authorizations (signed by the delegating addresses): the transaction is sent as
   * type 4. Stored with it, so a replacement carries the same list.
   */
  authorizationList?: SignedAuthorization[] | undefined;
  purpose: ChainTxPurpose;
  /** One key, one on-chain effect: a second submit with it returns the first transaction. */
  idempotencyKey: string;
  /**
   * Runs first in the transaction that stores the signed transaction: it may lock what the
   * decision rests on and throw to refuse (nothing is signed, no nonce is taken). A refund checks
   * here, under the intent's lock, that a deep reorg has not stopped it meanwhile.
   */
  precondition?: ((trx: Transaction<Database>) => Promise<void>) | undefined;
  /**
   * Writes the caller's own record of the transaction in the transaction that stores it, so a
   * crash cannot leave one without the other (a gas top-up without its gas_topups row). Not run
   * when the key's transaction exists already. If it throws, nothing is stored or sent.
   */
  recordWith?: (trx: Transaction<Database>, tx: ChainTxView) => Promise<void>;
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

export interface CreateSubmitterParameters {
  db: Kysely<Database>;
  chains: ChainRegistry;
  client: (chainKey: string) => PublicClient;
  log: Logger;
  fees: FeeOracle;
  views: ChainTxViews;
  broadcaster: Broadcaster;
  crash: (point: CrashPoint, purpose: ChainTxPurpose) => void;
}

/**
 * A request becomes at most one on-chain effect: its idempotency key is unique, its nonce is
 * taken under the sender's row lock (no gaps, no duplicates), and the signed bytes are stored
 * before the first broadcast, so after a crash the same bytes are sent again.
 */
export function createSubmitter(parameters: CreateSubmitterParameters) {
  const { db, chains, client, log, fees, views, broadcaster, crash } = parameters;

  async function ensureSenderRow(chainKey: string, sender: Address): Promise<void> {
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

  async function gasAndFees(request: TxRequest): Promise<{ gas: bigint; fee: Fees }> {
    if (request.gasLimit !== undefined && request.fees) {
      return { gas: request.gasLimit, fee: request.fees };
    }
    try {
      const e = await fees.estimate({ ...request, from: request.from.address });
      return {
        gas: e.gasLimit,
        fee: { maxFeePerGas: e.maxFeePerGas, maxPriorityFeePerGas: e.maxPriorityFeePerGas },
      };
    } catch (err) {
      const { kind, message } = classifyTxError(err);
      throw new TxRejectedError(kind, message);
    }
  }

  return async function submit(request: TxRequest): Promise<ChainTxView> {
    const existing = await views.byKey(request.idempotencyKey);
    if (existing) return existing;
    const chain = chains.get(request.chainKey);
    const sender = request.from.address;
    const data = request.data ?? "0x";
    const value = request.value ?? 0n;
    const { gas, fee } = await gasAndFees(request);
    await ensureSenderRow(chain.key, sender);
    const signed = await db.transaction().execute(async (trx) => {
      await request.precondition?.(trx);
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
      const raw = await signRequest(request.from, {
        chainId: chain.evmChainId,
        nonce,
        to: request.to,
        data,
        value,
        gas,
        fee,
        authorizationList: request.authorizationList,
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
          max_fee_per_gas: fee.maxFeePerGas,
          max_priority_fee_per_gas: fee.maxPriorityFeePerGas,
          tx_hash: hash,
          raw_tx: raw,
          state: "signed",
          authorization_list: request.authorizationList
            ? storeAuthorizations(request.authorizationList)
            : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto("chain_tx_attempts")
        .values({
          chain_tx_id: inserted.id,
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: fee.maxFeePerGas,
          max_priority_fee_per_gas: fee.maxPriorityFeePerGas,
        })
        .execute();
      await request.recordWith?.(trx, toChainTxView(inserted));
      // Delivered at commit: the tx managers' loops sleep until a transaction is there to follow.
      await notify(trx, CHAIN_TXS_TOPIC, chain.key);
      return inserted;
    });
    if (signed.state !== "signed") return toChainTxView(signed);
    crash("after-sign", request.purpose);
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
      await broadcaster.broadcast(signed, await client(chain.key).getBlockNumber());
    } catch (err) {
      // Stored and signed: the loop sends it again.
      log.warn({ err, tx_hash: signed.tx_hash }, "first broadcast failed; will retry");
    }
    return (await views.byKey(request.idempotencyKey)) as ChainTxView;
  };
}

export interface SignParameters {
  chainId: number;
  nonce: number;
  to: Address;
  data: Hex;
  value: bigint;
  gas: bigint;
  fee: Fees;
  authorizationList?: readonly SignedAuthorization[] | undefined;
}

/** Signs a transaction as the manager sends it: EIP-1559, or type 4 with authorizations. */
export function signRequest(from: PrivateKeyAccount, p: SignParameters): Promise<Hex> {
  const common = {
    chainId: p.chainId,
    nonce: p.nonce,
    to: p.to,
    data: p.data,
    value: p.value,
    gas: p.gas,
    ...p.fee,
  };
  if (p.authorizationList && p.authorizationList.length > 0) {
    return from.signTransaction({
      ...common,
      type: "eip7702",
      authorizationList: [...p.authorizationList],
    });
  }
  return from.signTransaction({ ...common, type: "eip1559" });
}

/** The stored form of an authorization list: JSON without viem's bigint `v`. */
export function storeAuthorizations(list: readonly SignedAuthorization[]): string {
  return JSON.stringify(
    list.map((a) => ({
      address: a.address,
      chainId: a.chainId,
      nonce: a.nonce,
      r: a.r,
      s: a.s,
      yParity: a.yParity,
    })),
  );
}

export function loadAuthorizations(stored: string | null): SignedAuthorization[] | undefined {
  return stored === null ? undefined : (JSON.parse(stored) as SignedAuthorization[]);
}
