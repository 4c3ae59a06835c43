import { createHash } from "node:crypto";
import Big from "big.js";
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import {
  type Address,
  encodeFunctionData,
  erc20Abi,
  formatEther,
  getAddress,
  type Hex,
  isAddress,
  zeroAddress,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ChainRegistry, RegisteredChain } from "../chain/chain-registry.ts";
import type { TokenInfo } from "../chain/known-chains.ts";
import { classifyTxError } from "../chain/tx-manager/classify-error.ts";
import {
  type ChainTxView,
  type TxManager,
  TxRejectedError,
} from "../chain/tx-manager/tx-manager.ts";
import type { Caller } from "../organizations/tenancy-service.ts";
import { formatTokenAmount, PLAIN_DECIMAL, parseTokenAmount } from "../payments/money.ts";
import type { ChainTxState, Database, PayoutsTable } from "../platform/database/schema.ts";
import {
  DomainError,
  ErrorCode,
  invalidApiKey,
  notFound,
  validationError,
} from "../platform/errors.ts";

export interface TransferInput {
  chain_id: string;
  contract_address: string;
  amount: string;
  wallet_address: string;
}

/** The reference's answer to POST /asset_pro/transfer. */
export interface TransferResult {
  id: string;
  tx_hash: string;
  transfer_time: number;
}

export type TransferStatus = "submitted" | "confirmed" | "failed";

export interface TransferView {
  id: string;
  status: TransferStatus;
  chain_id: string;
  contract_address: string;
  symbol: string;
  amount: string;
  wallet_address: string;
  from_address: string;
  /** null only while the transaction is being signed (a few milliseconds after the request). */
  tx_hash: string | null;
  transfer_time: number;
  nonce: number | null;
  block_number: number | null;
  gas_used: string | null;
  effective_gas_price: string | null;
  /** Why it failed (or why sending is retried), in the transaction manager's words. */
  error: string | null;
}

export interface TransferLimits {
  /** Decimal token amount; null removes the limit. */
  maxTransfer: string | null;
  dailyCap: string | null;
}

export interface WalletView {
  address: string;
  chains: {
    chain_id: string;
    native_balance: string | null;
    tokens: {
      symbol: string;
      contract_address: string;
      decimals: number;
      balance: string | null;
      /** Sent or being sent, not yet mined: already spoken for. */
      in_flight: string;
    }[];
    /** Why the balances are missing (the RPC did not answer). */
    error: string | null;
  }[];
}

/** A same-key request after this long is a new request (the key may be reused). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/**
 * A reservation with no chain transaction after this long was left by a process that stopped
 * between reserving and signing; nothing was sent for it, so it is released.
 */
const ABANDONED_RESERVATION_MS = 10 * 60 * 1000;
/** Namespace of the per-organisation advisory lock (pg_advisory_xact_lock(ns, org_id)). */
const LOCK_NAMESPACE = 0x7061_796f; // "payo"
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const LIMIT_MAX_DECIMALS = 18;
const IN_FLIGHT_STATES: ChainTxState[] = ["signed", "broadcast"];

type PayoutRow = Selectable<PayoutsTable> & {
  tx_state: ChainTxState | null;
  tx_hash: string | null;
  tx_nonce: string | number | null;
  tx_block_number: string | number | null;
  tx_gas_used: string | null;
  tx_effective_gas_price: string | null;
  tx_error: string | null;
};

interface Validated {
  chain: RegisteredChain;
  token: TokenInfo;
  amount: bigint;
  to: Address;
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/** Runs callbacks one at a time per key, in arrival order, within this process. */
function createKeyedMutex() {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

function balanceNotEnough(shortfall: string): DomainError {
  return new DomainError({
    status: 400,
    code: ErrorCode.balanceNotEnough,
    message: "Balance not enough",
    data: { insufficient_amount: shortfall },
  });
}

/** `shortfall` in the native coin (ETH, BNB, ...), when it is known. */
function gasNotEnough(wallet: Address, chainKey: string, shortfall?: string): DomainError {
  return new DomainError({
    status: 400,
    code: ErrorCode.gasNotEnough,
    message: `Native coin not enough for gas: the hot wallet ${wallet} on ${chainKey} needs more`,
    data: {
      ...(shortfall === undefined ? {} : { insufficient_amount: shortfall }),
      hot_wallet_address: wallet,
    },
  });
}

function chainUnavailable(chainKey: string, cause: unknown): DomainError {
  return new DomainError({
    status: 503,
    code: ErrorCode.chainUnavailable,
    message: `chain ${chainKey}: the RPC did not answer; retry later`,
    cause,
  });
}

/** The limit columns (same names on organizations and api_keys) that `limits` changes. */
function limitColumns(limits: Partial<TransferLimits>) {
  return {
    ...(limits.maxTransfer === undefined
      ? {}
      : { max_transfer_amount: parseLimit(limits.maxTransfer, "max_transfer") }),
    ...(limits.dailyCap === undefined
      ? {}
      : { daily_transfer_cap: parseLimit(limits.dailyCap, "daily_cap") }),
  };
}

/** `<org>-<unix time>-<sequence>`, the reference's transfer id. */
const TRANSFER_ID_PATTERN = /^\d{1,10}-\d{1,12}-\d{1,10}$/;

function transferNotFound(id: string): DomainError {
  return new DomainError({
    status: 404,
    code: ErrorCode.transferNotFound,
    message: `transfer ${id.slice(0, 64)} not found`,
  });
}

function parseLimit(value: string | null, field: string): string | null {
  if (value === null) return null;
  if (!PLAIN_DECIMAL.test(value)) throw validationError(field, 'must be a decimal like "1000.5"');
  const fraction = value.split(".")[1]?.replace(/0+$/, "") ?? "";
  if (fraction.length > LIMIT_MAX_DECIMALS) {
    throw validationError(field, `has more than ${LIMIT_MAX_DECIMALS} decimal places`);
  }
  if (new Big(value).lte(0)) throw validationError(field, "must be greater than 0");
  return new Big(value).toFixed();
}

/**
 * Transfers (withdrawals) from an organisation's hot wallet: validation, risk limits, the balance
 * check and the reservation happen under a per-organisation lock, so concurrent requests see each
 * other; the transaction manager then signs and sends (one key per payout, so a retried request or
 * a crashed process never sends twice).
 */
export function createPayoutService(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  txManager: Pick<TxManager, "submit" | "byKey" | "estimate" | "client">;
  wallets: { hotWallet(orgId: number): PrivateKeyAccount };
  now?: () => Date;
}) {
  const { db, chains, txManager, wallets } = options;
  const now = options.now ?? (() => new Date());
  const orgMutex = createKeyedMutex();

  const client = (chain: RegisteredChain) => txManager.client(chain.key);

  function validate(input: TransferInput): Validated {
    const chain = chains.list().find((c) => c.key === input.chain_id);
    if (!chain) {
      const known = chains
        .list()
        .filter((c) => c.rpcUrls.length > 0)
        .map((c) => c.key);
      throw validationError(
        "chain_id",
        `unknown chain ${JSON.stringify(input.chain_id)}; this gateway sends on: ${known.join(", ") || "(none)"}`,
      );
    }
    if (chain.rpcUrls.length === 0) {
      throw validationError(
        "chain_id",
        `chain ${chain.key} has no RPC URL configured on this gateway (RPC_URLS_${chain.key.toUpperCase()})`,
      );
    }
    if (!isAddress(input.contract_address, { strict: false })) {
      throw validationError("contract_address", "must be a 0x-prefixed 20-byte hex address");
    }
    const token = chain.tokens.find(
      (t) => t.address.toLowerCase() === input.contract_address.toLowerCase(),
    );
    if (!token) {
      throw validationError(
        "contract_address",
        `${input.contract_address} is not a registered token on chain ${chain.key} (${chain.tokens
          .map((t) => `${t.symbol} ${t.address}`)
          .join(", ")})`,
      );
    }
    const amount = parseTokenAmount(input.amount, token.decimals, "amount");
    if (amount === 0n) throw validationError("amount", "must be greater than 0");
    if (!isAddress(input.wallet_address)) {
      throw validationError(
        "wallet_address",
        isAddress(input.wallet_address, { strict: false })
          ? "is neither all lower case nor correctly EIP-55 checksummed"
          : "must be a 0x-prefixed 20-byte hex address",
      );
    }
    const to = getAddress(input.wallet_address);
    if (to === zeroAddress) throw validationError("wallet_address", "must not be the zero address");
    // Tokens sent to the token's own contract are lost for good.
    if (to === getAddress(token.address)) {
      throw validationError(
        "wallet_address",
        "is the token contract itself; tokens sent there are lost",
      );
    }
    return { chain, token, amount, to };
  }

  function requestHash(v: Validated): string {
    // The normalised request: "1.50" and "1.5", or a checksummed and a lower-case address, are
    // the same transfer.
    return createHash("sha256")
      .update(JSON.stringify([v.chain.key, v.token.address.toLowerCase(), `${v.amount}`, v.to]))
      .digest("hex");
  }

  const selectPayouts = (q: Kysely<Database> | Transaction<Database>) =>
    q
      .selectFrom("payouts as p")
      .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
      .selectAll("p")
      .select([
        "t.state as tx_state",
        "t.tx_hash as tx_hash",
        "t.nonce as tx_nonce",
        "t.block_number as tx_block_number",
        "t.gas_used as tx_gas_used",
        "t.effective_gas_price as tx_effective_gas_price",
        "t.error as tx_error",
      ]);

  function toView(row: PayoutRow): TransferView {
    const status: TransferStatus =
      row.tx_state === "confirmed"
        ? "confirmed"
        : row.tx_state === "failed"
          ? "failed"
          : "submitted";
    return {
      id: row.id,
      status,
      chain_id: row.chain_id,
      contract_address: row.token_address,
      symbol: row.symbol,
      amount: formatTokenAmount(BigInt(row.amount), row.decimals),
      wallet_address: row.to_address,
      from_address: row.from_address,
      tx_hash: row.tx_hash,
      transfer_time: unix(row.created_at),
      nonce: row.tx_nonce === null ? null : Number(row.tx_nonce),
      block_number: row.tx_block_number === null ? null : Number(row.tx_block_number),
      gas_used: row.tx_gas_used === null ? null : BigInt(row.tx_gas_used).toString(),
      effective_gas_price:
        row.tx_effective_gas_price === null ? null : BigInt(row.tx_effective_gas_price).toString(),
      error: row.tx_error,
    };
  }

  /** Sums decimal amounts of rows grouped by decimals, exactly. */
  const sumDecimal = (rows: { decimals: number; total: string | null }[]) =>
    rows.reduce(
      (sum, r) => sum.plus(formatTokenAmount(BigInt(r.total ?? "0"), r.decimals)),
      new Big(0),
    );

  async function spentToday(
    trx: Transaction<Database>,
    where: { orgId: number; apiKeyId?: number },
  ): Promise<Big> {
    const t = now();
    const dayStart = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
    let q = trx
      .selectFrom("payouts as p")
      .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
      .select(["p.decimals", sql<string | null>`sum(p.amount)`.as("total")])
      .where("p.org_id", "=", where.orgId)
      .where("p.created_at", ">=", dayStart)
      .where((eb) => eb.or([eb("p.chain_tx_id", "is", null), eb("t.state", "!=", "failed")]))
      .groupBy("p.decimals");
    if (where.apiKeyId !== undefined) q = q.where("p.api_key_id", "=", where.apiKeyId);
    return sumDecimal(await q.execute());
  }

  async function checkLimits(
    trx: Transaction<Database>,
    caller: { orgId: number; apiKeyId: number },
    v: Validated,
  ): Promise<void> {
    const [org, key] = await Promise.all([
      trx
        .selectFrom("organizations")
        .select(["max_transfer_amount", "daily_transfer_cap"])
        .where("id", "=", caller.orgId)
        .executeTakeFirstOrThrow(),
      trx
        .selectFrom("api_keys")
        .select(["max_transfer_amount", "daily_transfer_cap"])
        .where("id", "=", caller.apiKeyId)
        .executeTakeFirstOrThrow(),
    ]);
    const amount = new Big(formatTokenAmount(v.amount, v.token.decimals));
    const limitError = (code: number, message: string, data: Record<string, string>): DomainError =>
      new DomainError({ status: 403, code, message, data });
    const perTransfer = [
      [org.max_transfer_amount, ErrorCode.orgTransferLimitExceeded, "organisation"],
      [key.max_transfer_amount, ErrorCode.keyTransferLimitExceeded, "API key"],
    ] as const;
    for (const [limit, code, whose] of perTransfer) {
      if (limit !== null && amount.gt(limit)) {
        const max = new Big(limit).toFixed();
        throw limitError(
          code,
          `amount ${amount.toFixed()} exceeds the ${whose}'s per-transfer maximum of ${max}`,
          { limit: "max_transfer_amount", max_transfer_amount: max },
        );
      }
    }
    const daily = [
      [org.daily_transfer_cap, ErrorCode.orgDailyCapExceeded, "organisation", undefined],
      [key.daily_transfer_cap, ErrorCode.keyDailyCapExceeded, "API key", caller.apiKeyId],
    ] as const;
    for (const [cap, code, whose, apiKeyId] of daily) {
      if (cap === null) continue;
      const spent = await spentToday(trx, {
        orgId: caller.orgId,
        ...(apiKeyId === undefined ? {} : { apiKeyId }),
      });
      if (spent.plus(amount).gt(cap)) {
        const capText = new Big(cap).toFixed();
        const remaining = new Big(cap).minus(spent);
        throw limitError(
          code,
          `amount ${amount.toFixed()} would exceed the ${whose}'s daily outflow cap of ${capText} (sent today, UTC: ${spent.toFixed()})`,
          {
            limit: "daily_transfer_cap",
            daily_transfer_cap: capText,
            sent_today: spent.toFixed(),
            remaining_today: (remaining.gt(0) ? remaining : new Big(0)).toFixed(),
          },
        );
      }
    }
  }

  /**
   * Token and native-coin checks. Counted as already spent: payouts reserved or signed but not
   * yet mined (the on-chain balance does not show them yet). Mined ones are in the balance.
   * The in-flight sums are read before the balance: a payout mined in between is then counted
   * twice (too cautious), never not at all.
   */
  async function checkBalances(
    trx: Transaction<Database>,
    orgId: number,
    from: Address,
    v: Validated,
  ): Promise<void> {
    const tokenInFlight = await trx
      .selectFrom("payouts as p")
      .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
      .select(sql<string | null>`sum(p.amount)`.as("total"))
      .where("p.org_id", "=", orgId)
      .where("p.chain_id", "=", v.chain.key)
      .where(sql<boolean>`lower(p.token_address) = ${v.token.address.toLowerCase()}`)
      .where((eb) =>
        eb.or([eb("p.chain_tx_id", "is", null), eb("t.state", "in", IN_FLIGHT_STATES)]),
      )
      .executeTakeFirstOrThrow();
    const nativeInFlight = await trx
      .selectFrom("chain_txs")
      .select(sql<string | null>`sum(gas_limit * max_fee_per_gas + value)`.as("total"))
      .where("chain_id", "=", v.chain.key)
      .where(sql<boolean>`lower(sender) = ${from.toLowerCase()}`)
      .where("state", "in", IN_FLIGHT_STATES)
      .executeTakeFirstOrThrow();
    const unsent = await trx
      .selectFrom("payouts")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("org_id", "=", orgId)
      .where("chain_id", "=", v.chain.key)
      .where("chain_tx_id", "is", null)
      .executeTakeFirstOrThrow();

    const c = client(v.chain);
    let tokenBalance: bigint;
    try {
      tokenBalance = await c.readContract({
        address: v.token.address,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [from],
      });
    } catch (err) {
      throw chainUnavailable(v.chain.key, err);
    }
    const needed = BigInt(tokenInFlight.total ?? "0") + v.amount;
    if (tokenBalance < needed) {
      throw balanceNotEnough(formatTokenAmount(needed - tokenBalance, v.token.decimals));
    }

    // What the transaction manager will sign with: the most this transfer can cost in gas.
    let cost: bigint;
    let nativeBalance: bigint;
    try {
      const [estimate, balance] = await Promise.all([
        txManager.estimate({
          chainKey: v.chain.key,
          from,
          to: v.token.address,
          data: transferData(v),
        }),
        c.getBalance({ address: from }),
      ]);
      cost = estimate.maxCost;
      nativeBalance = balance;
    } catch (err) {
      const { kind } = classifyTxError(err);
      if (kind === "insufficient_funds") throw gasNotEnough(from, v.chain.key);
      if (kind === "reverted") throw await rejectedByToken(v, from, err);
      throw chainUnavailable(v.chain.key, err);
    }
    const nativeNeeded =
      BigInt(nativeInFlight.total ?? "0") + BigInt(Number(unsent.n)) * cost + cost;
    if (nativeBalance < nativeNeeded) {
      throw gasNotEnough(from, v.chain.key, formatEther(nativeNeeded - nativeBalance));
    }
  }

  /** The token refused the transfer at estimation: a balance moved away since we read it. */
  async function rejectedByToken(v: Validated, from: Address, cause: unknown) {
    const balance = await client(v.chain)
      .readContract({
        address: v.token.address,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [from],
      })
      .catch(() => undefined);
    if (balance !== undefined && balance < v.amount) {
      return balanceNotEnough(formatTokenAmount(v.amount - balance, v.token.decimals));
    }
    return new DomainError({
      status: 400,
      code: ErrorCode.validation,
      message: `wallet_address: the token contract refuses this transfer (${classifyTxError(cause).message})`,
      data: { field: "wallet_address" },
      cause,
    });
  }

  function transferData(v: Pick<Validated, "to" | "amount">): Hex {
    return encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [v.to, v.amount] });
  }

  async function findByKey(
    q: Kysely<Database> | Transaction<Database>,
    orgId: number,
    key: string,
  ): Promise<PayoutRow | undefined> {
    return (await selectPayouts(q)
      .where("p.org_id", "=", orgId)
      .where("p.idempotency_key", "=", key)
      .where("p.created_at", ">=", new Date(now().getTime() - IDEMPOTENCY_WINDOW_MS))
      .executeTakeFirst()) as PayoutRow | undefined;
  }

  /** A reservation left by a process that stopped before signing: link it, or release it. */
  async function settleAbandoned(orgId: number): Promise<void> {
    const stale = await db
      .selectFrom("payouts")
      .select("id")
      .where("org_id", "=", orgId)
      .where("chain_tx_id", "is", null)
      .where("created_at", "<", new Date(now().getTime() - ABANDONED_RESERVATION_MS))
      .execute();
    for (const { id } of stale) {
      const tx = await txManager.byKey(chainTxKey(id));
      if (tx) await link(id, tx);
      else
        await db
          .deleteFrom("payouts")
          .where("id", "=", id)
          .where("chain_tx_id", "is", null)
          .execute();
    }
  }

  const chainTxKey = (payoutId: string) => `payout:${payoutId}`;

  async function link(payoutId: string, tx: ChainTxView): Promise<void> {
    await db
      .updateTable("payouts")
      .set({ chain_tx_id: tx.id })
      .where("id", "=", payoutId)
      .execute();
  }

  /** Signs and sends a reserved payout (again, after a crash: the key makes it the same tx). */
  async function send(row: Selectable<PayoutsTable>, orgId: number): Promise<TransferResult> {
    const hot = wallets.hotWallet(orgId);
    let tx: ChainTxView;
    try {
      tx = await txManager.submit({
        chainKey: row.chain_id,
        from: hot,
        to: row.token_address as Address,
        data: transferData({ to: row.to_address as Address, amount: BigInt(row.amount) }),
        purpose: "payout",
        idempotencyKey: chainTxKey(row.id),
      });
    } catch (err) {
      // Nothing was signed unless the manager stored a transaction under this payout's key (an
      // error after signing): otherwise release the reservation so it holds no balance or limit.
      const stored = await txManager.byKey(chainTxKey(row.id)).catch(() => undefined);
      if (stored) {
        await link(row.id, stored);
        return { id: row.id, tx_hash: stored.txHash, transfer_time: unix(row.created_at) };
      }
      await db
        .deleteFrom("payouts")
        .where("id", "=", row.id)
        .where("chain_tx_id", "is", null)
        .execute();
      const chain = chains.get(row.chain_id);
      if (!(err instanceof TxRejectedError)) throw chainUnavailable(chain.key, err);
      const token = chain.tokens.find((t) => t.address === row.token_address) as TokenInfo;
      const v = { chain, token, amount: BigInt(row.amount), to: row.to_address as Address };
      if (err.kind === "insufficient_funds") {
        throw gasNotEnough(hot.address, chain.key);
      }
      if (err.kind === "reverted") throw await rejectedByToken(v, hot.address, err);
      throw chainUnavailable(chain.key, err);
    }
    await link(row.id, tx);
    return { id: row.id, tx_hash: tx.txHash, transfer_time: unix(row.created_at) };
  }

  async function replay(row: PayoutRow, hash: string, orgId: number): Promise<TransferResult> {
    if (row.request_hash !== hash) {
      throw new DomainError({
        status: 409,
        code: ErrorCode.idempotencyKeyReused,
        message: `Idempotency-Key ${JSON.stringify(row.idempotency_key)} was used for a different transfer (${row.id}) in the last 24 hours`,
        data: { id: row.id },
      });
    }
    if (row.tx_hash === null) return send(row, orgId);
    return { id: row.id, tx_hash: row.tx_hash, transfer_time: unix(row.created_at) };
  }

  async function requireApiKeyCaller(caller: Caller) {
    if (caller.kind !== "api_key") throw invalidApiKey("this endpoint requires X-STUDIO-API-KEY");
    return caller;
  }

  return {
    async transfer(
      caller: Caller,
      input: TransferInput,
      idempotencyKey?: string,
    ): Promise<TransferResult> {
      const who = await requireApiKeyCaller(caller);
      const orgId = who.orgId;
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw validationError("Idempotency-Key", "must be 1-255 visible ASCII characters");
      }
      const v = validate(input);
      const hash = requestHash(v);
      if (idempotencyKey !== undefined) {
        const prior = await findByKey(db, orgId, idempotencyKey);
        if (prior) return replay(prior, hash, orgId);
      }
      const from = wallets.hotWallet(orgId).address;
      const reserved = await orgMutex(String(orgId), async () => {
        await settleAbandoned(orgId);
        return db.transaction().execute(async (trx) => {
          // Across processes (PostgreSQL): one organisation's checks and reservations in turn,
          // so two requests cannot both spend the same balance or the same daily allowance.
          await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${orgId})`.execute(trx);
          if (idempotencyKey !== undefined) {
            const prior = await findByKey(trx, orgId, idempotencyKey);
            if (prior) return { prior };
            // An older use of the key (over 24 h) gives way to this one.
            await trx
              .updateTable("payouts")
              .set({ idempotency_key: null })
              .where("org_id", "=", orgId)
              .where("idempotency_key", "=", idempotencyKey)
              .execute();
          }
          await checkLimits(trx, { orgId, apiKeyId: who.apiKeyId }, v);
          await checkBalances(trx, orgId, from, v);
          const { last_payout_seq: seq } = await trx
            .updateTable("organizations")
            .set((eb) => ({ last_payout_seq: eb("last_payout_seq", "+", 1) }))
            .where("id", "=", orgId)
            .returning("last_payout_seq")
            .executeTakeFirstOrThrow();
          const createdAt = now();
          const row = await trx
            .insertInto("payouts")
            .values({
              id: `${orgId}-${unix(createdAt)}-${seq}`,
              org_id: orgId,
              seq,
              api_key_id: who.apiKeyId,
              chain_id: v.chain.key,
              token_address: v.token.address,
              symbol: v.token.symbol,
              decimals: v.token.decimals,
              amount: v.amount,
              from_address: from,
              to_address: v.to,
              idempotency_key: idempotencyKey ?? null,
              request_hash: hash,
              chain_tx_id: null,
              created_at: createdAt,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          return { row };
        });
      });
      if ("prior" in reserved && reserved.prior) return replay(reserved.prior, hash, orgId);
      return send((reserved as { row: Selectable<PayoutsTable> }).row, orgId);
    },

    async get(caller: Caller, id: string): Promise<TransferView> {
      const who = await requireApiKeyCaller(caller);
      // Not the id's shape (a NUL byte would even make the database refuse the query): unknown.
      if (!TRANSFER_ID_PATTERN.test(id)) throw transferNotFound(id);
      const row = (await selectPayouts(db)
        .where("p.org_id", "=", who.orgId)
        .where("p.id", "=", id)
        .executeTakeFirst()) as PayoutRow | undefined;
      if (!row) throw transferNotFound(id);
      return toView(row);
    },

    async list(caller: Caller, query: { page_number: number; page_size: number }) {
      const who = await requireApiKeyCaller(caller);
      const [rows, count] = await Promise.all([
        selectPayouts(db)
          .where("p.org_id", "=", who.orgId)
          .orderBy("p.created_at", "desc")
          .orderBy("p.seq", "desc")
          .limit(query.page_size)
          .offset((query.page_number - 1) * query.page_size)
          .execute(),
        db
          .selectFrom("payouts")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("org_id", "=", who.orgId)
          .executeTakeFirstOrThrow(),
      ]);
      return {
        items: (rows as PayoutRow[]).map(toView),
        total_count: Number(count.n),
        page_number: query.page_number,
        page_size: query.page_size,
      };
    },

    /** The organisation's hot wallet (the same address on every EVM chain). */
    hotWalletAddress(orgId: number): Address {
      return wallets.hotWallet(orgId).address;
    },

    /** The hot wallet's balances on every chain with an RPC URL, and what is in flight. */
    async wallet(caller: Caller): Promise<WalletView> {
      const who = await requireApiKeyCaller(caller);
      return this.walletOf(who.orgId);
    },

    /** The hot wallet of an organisation (CLI: no caller). */
    async walletOf(orgId: number): Promise<WalletView> {
      const address = wallets.hotWallet(orgId).address;
      const configured = chains.list().filter((c) => c.rpcUrls.length > 0);
      const inFlight = await db
        .selectFrom("payouts as p")
        .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
        .select(["p.chain_id", "p.token_address", sql<string | null>`sum(p.amount)`.as("total")])
        .where("p.org_id", "=", orgId)
        .where((eb) =>
          eb.or([eb("p.chain_tx_id", "is", null), eb("t.state", "in", IN_FLIGHT_STATES)]),
        )
        .groupBy(["p.chain_id", "p.token_address"])
        .execute();
      const chainsView = await Promise.all(
        configured.map(async (chain) => {
          const c = client(chain);
          let native: bigint | null = null;
          let balances: (bigint | null)[] = chain.tokens.map(() => null);
          let error: string | null = null;
          try {
            [native, ...balances] = await Promise.all([
              c.getBalance({ address }),
              ...chain.tokens.map((t) =>
                c.readContract({
                  address: t.address,
                  abi: erc20Abi,
                  functionName: "balanceOf",
                  args: [address],
                }),
              ),
            ]);
          } catch (err) {
            error = classifyTxError(err).message || "the RPC did not answer";
          }
          return {
            chain_id: chain.key,
            native_balance: native === null ? null : formatEther(native),
            tokens: chain.tokens.map((t, i) => {
              const flight = inFlight.find(
                (r) => r.chain_id === chain.key && r.token_address === t.address,
              );
              const balance = balances[i] ?? null;
              return {
                symbol: t.symbol,
                contract_address: t.address,
                decimals: t.decimals,
                balance: balance === null ? null : formatTokenAmount(balance, t.decimals),
                in_flight: formatTokenAmount(BigInt(flight?.total ?? "0"), t.decimals),
              };
            }),
            error,
          };
        }),
      );
      return { address, chains: chainsView };
    },

    async setOrgLimits(orgId: number, limits: Partial<TransferLimits>): Promise<TransferLimits> {
      const row = await db
        .updateTable("organizations")
        .set(limitColumns(limits))
        .where("id", "=", orgId)
        .returning(["max_transfer_amount", "daily_transfer_cap"])
        .executeTakeFirst();
      if (!row) throw notFound(`organization ${orgId} not found`);
      return { maxTransfer: row.max_transfer_amount, dailyCap: row.daily_transfer_cap };
    },

    async setKeyLimits(keyId: number, limits: Partial<TransferLimits>): Promise<TransferLimits> {
      const row = await db
        .updateTable("api_keys")
        .set(limitColumns(limits))
        .where("id", "=", keyId)
        .returning(["max_transfer_amount", "daily_transfer_cap"])
        .executeTakeFirst();
      if (!row) throw notFound(`no API key with id ${keyId}`);
      return { maxTransfer: row.max_transfer_amount, dailyCap: row.daily_transfer_cap };
    },
  };
}

export type PayoutService = ReturnType<typeof createPayoutService>;
