import type { Kysely, Selectable, Transaction } from "kysely";
import type { CallbackUrlGuard } from "../callbacks/url-guard.ts";
import type { ChainRegistry, RegisteredChain } from "../chain/chain-registry.ts";
import type { DepositAddressPool } from "../chain/deposit-addresses.ts";
import { pricingSymbol, type TokenInfo } from "../chain/known-chains.ts";
import { acceptedAssets, assetKey } from "../organizations/accepted-assets.ts";
import {
  type Caller,
  callbackHostAllowed,
  callbackHostNotAllowed,
  type OrgProfile,
} from "../organizations/tenancy-service.ts";
import { precompile } from "../platform/database/precompiled.ts";
import type { Database, PaymentIntentsTable } from "../platform/database/schema.ts";
import {
  assetChoiceClosed,
  assetNotAccepted,
  invalidClientId,
  paymentIntentNotFound,
  validationError,
} from "../platform/errors.ts";
import {
  idempotencyCutoff,
  idempotencyKeyReused,
  requestHash,
  validateIdempotencyKey,
} from "../platform/idempotency.ts";
import { newPaymentIntentId, PAYMENT_INTENT_ID_PATTERN } from "../platform/ids.ts";
import type { RateProvider } from "../rates/rate-provider.ts";
import { createIntentList } from "./intent-list.ts";
import { INTENT_VIEW_COLUMNS, toCheckoutPaymentView, toPaymentIntentView } from "./intent-wire.ts";
import { announceDeadline } from "./lifecycle/deadline-wakeup.ts";
import { appendStatusHistory, intentWithFirstStatus } from "./lifecycle/status-history.ts";
import { checkFiatAmount, type Fiat, quote } from "./quote.ts";
import {
  type AssetOption,
  type CheckoutPayment,
  type ChooseAssetBody,
  type CreatePaymentIntentBody,
  type ListPaymentIntentsQuery,
  ORDER_DATA_MAX_CHARS,
  type PaymentIntent,
  type PaymentIntentList,
} from "./schemas.ts";

export interface PaymentIntentServiceOptions {
  db: Kysely<Database>;
  chains: ChainRegistry;
  rates: RateProvider;
  depositAddresses: DepositAddressPool;
  /** The organisation's defaults and first client (cached by the tenancy service). */
  profile: (orgId: number) => Promise<OrgProfile>;
  ttlSeconds: number;
  cryptoDecimals: number;
  /** Refuses callback URLs that lead into private networks; without one, any http(s) URL. */
  callbackUrlGuard?: CallbackUrlGuard;
  now?: () => Date;
}

export interface CreateIntentOptions {
  /** The history row's cause; by default the API key or client that created it. */
  cause?: string;
  /**
   * Runs in the transaction that inserts the intent, after the insert; what it throws rolls the
   * intent back (a payment link claims its one use here, so two opens make one intent).
   */
  inTransaction?: (trx: Transaction<Database>, intentId: string) => Promise<void>;
  /**
   * The request's Idempotency-Key: within 24 hours, the same key and body answer with the
   * intent the first request made (same id and address), another body is a 409 (4018). Stored
   * on the intent in its insert, so this holds across a crash between the insert and the answer.
   */
  idempotencyKey?: string | undefined;
}

/** What a create inserts: the intent's values and its first history row's cause. */
interface NewIntent extends Record<string, unknown> {
  id: string;
  orgId: number;
  clientId: string;
  chainId: string;
  address: string;
  index: number;
  tokenAddress: string;
  symbol: string;
  decimals: number;
  cryptoAmount: bigint;
  fiatAmount: string;
  fiatCurrency: Fiat;
  rate: string;
  rateSource: string;
  deadline: Date;
  orderData: string | null;
  callbackUrl: string | null;
  groupKey: string | null;
  idempotencyKey: string | null;
  idempotencyRequestHash: string | null;
  assetFixed: boolean;
  description: string | null;
  returnUrl: string | null;
  createdAt: Date;
  cause: string;
}

/** Postgres' unique_violation: here, another create with the same Idempotency-Key won. */
const isUniqueViolation = (err: unknown) =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";

export function createPaymentIntentService(options: PaymentIntentServiceOptions) {
  const { db, chains, rates, depositAddresses } = options;
  const listIntents = createIntentList({ db });
  const now = options.now ?? (() => new Date());
  // The API's reads by id, compiled once (platform/database/precompiled.ts).
  const selectIntent = precompile(db, (d, a: { id: string; orgId: number }) =>
    d
      .selectFrom("payment_intents")
      .select(INTENT_VIEW_COLUMNS)
      .where("id", "=", a.id)
      .where("org_id", "=", a.orgId)
      .compile(),
  );
  const selectClientIntent = precompile(
    db,
    (d, a: { id: string; orgId: number; clientId: string }) =>
      d
        .selectFrom("payment_intents")
        .select(INTENT_VIEW_COLUMNS)
        .where("id", "=", a.id)
        .where("org_id", "=", a.orgId)
        .where("client_id", "=", a.clientId)
        .compile(),
  );

  // A new intent and the history row of its first status, in one statement, compiled once.
  const insertIntentStatement = precompile(db, (d, a: NewIntent) =>
    intentWithFirstStatus(
      d
        .insertInto("payment_intents")
        .values({
          id: a.id,
          org_id: a.orgId,
          client_id: a.clientId,
          payment_chain_id: a.chainId,
          payment_address: a.address,
          deposit_index: a.index,
          token_address: a.tokenAddress,
          symbol: a.symbol,
          decimals: a.decimals,
          crypto_amount: a.cryptoAmount,
          fiat_amount: a.fiatAmount,
          fiat_currency: a.fiatCurrency,
          rate: a.rate,
          rate_source: a.rateSource,
          payment_deadline: a.deadline,
          status: "pending",
          order_data: a.orderData,
          callback_url: a.callbackUrl,
          group_key: a.groupKey,
          idempotency_key: a.idempotencyKey,
          idempotency_request_hash: a.idempotencyRequestHash,
          asset_fixed: a.assetFixed,
          description: a.description,
          return_url: a.returnUrl,
          created_at: a.createdAt,
          updated_at: a.createdAt,
        })
        .returning([...INTENT_VIEW_COLUMNS, "created_at"]),
      a.cause,
    ).compile(d),
  );

  /** The intent an Idempotency-Key made within the window, if any. */
  const findByIdempotencyKey = (orgId: number, key: string) =>
    db
      .selectFrom("payment_intents")
      .selectAll()
      .where("org_id", "=", orgId)
      .where("idempotency_key", "=", key)
      .where("created_at", ">=", idempotencyCutoff(now()))
      .executeTakeFirst();

  /** A retry's answer: the first intent, if this is the same request (body and client). */
  function replay(
    caller: Caller,
    key: string,
    hash: string,
    prior: NonNullable<Awaited<ReturnType<typeof findByIdempotencyKey>>>,
  ): PaymentIntent {
    if (prior.idempotency_request_hash !== hash) {
      // The id is the hosted checkout's capability: named only to the organisation's server.
      throw idempotencyKeyReused(
        key,
        "a different payment intent request",
        caller.kind === "api_key" ? { id: prior.id } : undefined,
      );
    }
    return toPaymentIntentView(prior);
  }

  /** The fiat amount quoted in a token (its pricing symbol's rate: USDC.e at USDC's). */
  async function quoteIn(token: TokenInfo, fiatAmount: string, fiatCurrency: Fiat) {
    const rate = await rates.getRate(fiatCurrency, pricingSymbol(token));
    return quote({
      fiatAmount,
      fiatCurrency,
      rate,
      tokenDecimals: token.decimals,
      cryptoDecimals: Math.min(options.cryptoDecimals, token.decimals),
    });
  }

  /** The organisation's accepted assets, with their chains and tokens (pairs since removed skipped). */
  async function acceptedOf(
    executor: Kysely<Database>,
    orgId: number,
  ): Promise<{ chain: RegisteredChain; token: TokenInfo }[]> {
    const org = await executor
      .selectFrom("organizations")
      .select(["default_chain_id", "default_token_symbol", "accepted_assets"])
      .where("id", "=", orgId)
      .executeTakeFirstOrThrow();
    return acceptedAssets(org).flatMap((a) => {
      const chain = chains.list().find((c) => c.key === a.chain_id);
      const token = chain?.tokens.find((t) => t.symbol === a.symbol);
      return chain && token ? [{ chain, token }] : [];
    });
  }

  /** Whether the payer may still choose: pending, before the deadline, nothing seen arriving. */
  async function choiceClosed(
    executor: Kysely<Database>,
    row: Selectable<PaymentIntentsTable>,
  ): Promise<string | undefined> {
    if (row.asset_fixed) return "the merchant fixed the chain and token";
    if (row.status !== "pending") return `the payment is ${row.status}`;
    if (row.payment_deadline.getTime() <= now().getTime()) return "the time to pay has passed";
    const seen = await executor
      .selectFrom("transfers")
      .select("tx_hash")
      .where("payment_intent_id", "=", row.id)
      .where("state", "!=", "orphaned")
      .limit(1)
      .executeTakeFirst();
    return seen ? "a payment has already arrived" : undefined;
  }

  async function checkoutView(row: Selectable<PaymentIntentsTable>): Promise<CheckoutPayment> {
    const [merchant, transfers] = await Promise.all([
      db
        .selectFrom("organizations")
        .select(["name", "display_name", "logo_sha256", "accent_color"])
        .where("id", "=", row.org_id)
        .executeTakeFirstOrThrow(),
      // Confirmed only: a transfer still waiting for confirmations, or orphaned by a reorg,
      // is not (or no longer) the payer's payment.
      db
        .selectFrom("transfers")
        .select(["tx_hash", "log_index", "amount", "block_timestamp"])
        .where("payment_intent_id", "=", row.id)
        .where("state", "=", "confirmed")
        .orderBy("block_number")
        .orderBy("log_index")
        .execute(),
    ]);
    const view = toCheckoutPaymentView(row, chains, now(), { merchant, transfers });
    if (row.asset_fixed || row.status !== "pending") return view;
    const accepted = await acceptedOf(db, row.org_id);
    if (accepted.length < 2 || (await choiceClosed(db, row)) !== undefined) return view;
    const options: AssetOption[] = [];
    for (const { chain, token } of accepted) {
      try {
        const q = await quoteIn(token, row.fiat_amount, row.fiat_currency);
        options.push({
          payment_chain_id: chain.key,
          chain_name: chain.name,
          symbol: token.symbol,
          crypto_amount: q.cryptoAmount,
        });
      } catch {
        // No rate for this token now: it is not offered, the others still are.
      }
    }
    return options.length > 1 ? { ...view, asset_options: options } : view;
  }

  return {
    async create(
      caller: Caller,
      input: CreatePaymentIntentBody,
      how: CreateIntentOptions = {},
    ): Promise<PaymentIntent> {
      const key = how.idempotencyKey;
      let hash: string | undefined;
      if (key !== undefined) {
        validateIdempotencyKey(key);
        // The body as validated (unknown fields dropped, so they do not count) and the client
        // the caller named: a browser of another client with the same key is another request.
        hash = requestHash("payment_intent.create", caller.client?.clientId ?? null, input);
        // Only with a key: a create without one costs nothing more.
        const prior = await findByIdempotencyKey(caller.orgId, key);
        if (prior) return replay(caller, key, hash, prior);
      }
      // The schema allows 2 places for any currency; the currency's own minor units here.
      checkFiatAmount(input.fiat_amount, input.fiat_currency);
      const orderData =
        input.order_data === undefined || input.order_data === null
          ? null
          : JSON.stringify(input.order_data);
      if (orderData !== null && orderData.length > ORDER_DATA_MAX_CHARS) {
        throw validationError(
          "order_data",
          `must be at most ${ORDER_DATA_MAX_CHARS} characters when serialised (got ${orderData.length})`,
        );
      }
      // A browser's X-Client-ID and Origin are public: its callbacks go only to the client's hosts.
      if (
        input.callback_url &&
        caller.kind === "browser" &&
        !callbackHostAllowed(caller.client, input.callback_url)
      ) {
        throw callbackHostNotAllowed(caller.client, input.callback_url);
      }
      if (input.callback_url) await options.callbackUrlGuard?.checkAtCreation(input.callback_url);
      // For a server call without X-Client-ID, the intent is booked on the organisation's first
      // client.
      const org = await options.profile(caller.orgId);
      const clientId = caller.client?.clientId ?? org.firstClientId;
      if (!clientId) {
        throw invalidClientId("send X-Client-ID: the organization has no client yet");
      }
      // The merchant may fix the asset (an extension); it must be one the organisation accepts.
      const fixed = input.payment_chain_id !== undefined || input.symbol !== undefined;
      const chain = chains.get(input.payment_chain_id ?? org.defaultChainId, "payment_chain_id");
      const token = chains.token(chain.key, input.symbol ?? org.defaultTokenSymbol, "symbol");
      if (fixed) {
        const accepted = acceptedAssets({
          default_chain_id: org.defaultChainId,
          default_token_symbol: org.defaultTokenSymbol,
          accepted_assets: org.acceptedAssets,
        });
        const wanted = assetKey({ chain_id: chain.key, symbol: token.symbol });
        if (!accepted.some((a) => assetKey(a) === wanted)) {
          throw assetNotAccepted(chain.key, token.symbol, accepted.map(assetKey));
        }
      }
      const q = await quoteIn(token, input.fiat_amount, input.fiat_currency);
      const createdAt = now();
      const deadline = new Date(
        Math.floor(createdAt.getTime() / 1000) * 1000 + options.ttlSeconds * 1000,
      );
      const id = newPaymentIntentId();
      // The sequence hands out each index once, even to concurrent creators on several
      // processes; an index burnt by a failed insert is an unused address, nothing more.
      const { index, address: paymentAddress } = await depositAddresses.take();
      const insertIntent = async (executor: Kysely<Database>) => {
        const [row] = await insertIntentStatement.run(executor, {
          id,
          orgId: caller.orgId,
          clientId,
          chainId: chain.key,
          address: paymentAddress,
          index,
          tokenAddress: token.address,
          symbol: token.symbol,
          decimals: token.decimals,
          cryptoAmount: q.cryptoAmountBase,
          fiatAmount: input.fiat_amount,
          fiatCurrency: input.fiat_currency,
          rate: q.rate,
          rateSource: q.rateSource,
          deadline,
          orderData,
          callbackUrl: input.callback_url ?? null,
          groupKey: input.group_key ?? null,
          idempotencyKey: key ?? null,
          idempotencyRequestHash: hash ?? null,
          assetFixed: fixed,
          description: input.description?.trim() || null,
          returnUrl: input.return_url ?? null,
          createdAt,
          cause:
            how.cause ??
            (caller.kind === "api_key" ? `api_key:${caller.apiKeyId}` : `client:${clientId}`),
        });
        if (!row) throw new Error("the intent insert returned no row");
        return row;
      };
      // Without a key or a hook, the one statement is the whole transaction.
      const insert =
        key === undefined && how.inTransaction === undefined
          ? insertIntent(db)
          : db.transaction().execute(async (trx) => {
              if (key !== undefined) {
                // An older use of the key (over 24 hours) gives way to this one.
                await trx
                  .updateTable("payment_intents")
                  .set({ idempotency_key: null })
                  .where("org_id", "=", caller.orgId)
                  .where("idempotency_key", "=", key)
                  .where("created_at", "<", idempotencyCutoff(createdAt))
                  .execute();
              }
              const inserted = await insertIntent(trx);
              await how.inTransaction?.(trx, id);
              return inserted;
            });
      let row: Awaited<typeof insert>;
      try {
        row = await insert;
      } catch (err) {
        // Two creates with one key at once: the unique index let the first commit; this one
        // answers with its intent (the deposit index it took stays unused).
        if (key === undefined || hash === undefined || !isUniqueViolation(err)) throw err;
        const prior = await findByIdempotencyKey(caller.orgId, key);
        if (!prior) throw err;
        return replay(caller, key, hash, prior);
      }
      await announceDeadline(db, deadline, createdAt);
      return toPaymentIntentView(row);
    },

    async get(caller: Caller, id: string): Promise<PaymentIntent> {
      if (!PAYMENT_INTENT_ID_PATTERN.test(id)) throw paymentIntentNotFound(id);
      // A browser sees only its own client's intents; a key sees its whole organisation.
      const [row] =
        caller.kind === "browser"
          ? await selectClientIntent.run(db, {
              id,
              orgId: caller.orgId,
              clientId: caller.client.clientId,
            })
          : await selectIntent.run(db, { id, orgId: caller.orgId });
      if (!row) throw paymentIntentNotFound(id);
      return toPaymentIntentView(row);
    },

    async history(caller: Caller, id: string) {
      await this.get(caller, id);
      return db
        .selectFrom("payment_intent_status_history")
        .select(["from_status", "to_status", "cause", "created_at"])
        .where("payment_intent_id", "=", id)
        .orderBy("id")
        .execute();
    },

    async list(caller: Caller, query: ListPaymentIntentsQuery): Promise<PaymentIntentList> {
      return listIntents(caller.orgId, query);
    },

    /**
     * The hosted checkout's read: by id alone, without a caller. The 32-character random id is
     * the capability, so only what the payer needs leaves here (see toCheckoutPaymentView).
     */
    async getForCheckout(id: string): Promise<CheckoutPayment> {
      if (!PAYMENT_INTENT_ID_PATTERN.test(id)) throw paymentIntentNotFound(id);
      const row = await db
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      if (!row) throw paymentIntentNotFound(id);
      return checkoutView(row);
    },

    /**
     * The payer's choice of chain and token on the checkout: the intent re-quoted in it, under
     * its row lock, while the choice is open (see choiceClosed). The deposit address stays: it
     * is derived from the intent's index and is the same on every EVM chain. The asset left
     * behind is kept (payment_intent_asset_changes), so a payment still made in it is
     * recognised by the chain ingest rather than ignored.
     */
    async chooseAsset(id: string, input: ChooseAssetBody): Promise<CheckoutPayment> {
      if (!PAYMENT_INTENT_ID_PATTERN.test(id)) throw paymentIntentNotFound(id);
      const chain = chains.get(input.payment_chain_id, "payment_chain_id");
      const token = chains.token(chain.key, input.symbol, "symbol");
      const current = await db
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      if (!current) throw paymentIntentNotFound(id);
      const accepted = await acceptedOf(db, current.org_id);
      if (!accepted.some((a) => a.chain.key === chain.key && a.token.symbol === token.symbol)) {
        throw assetNotAccepted(
          chain.key,
          token.symbol,
          accepted.map((a) => assetKey({ chain_id: a.chain.key, symbol: a.token.symbol })),
        );
      }
      // Quoted before the lock: a rate provider's round trip must not hold the row.
      const q = await quoteIn(token, current.fiat_amount, current.fiat_currency);
      const row = await db.transaction().execute(async (trx) => {
        const locked = await trx
          .selectFrom("payment_intents")
          .selectAll()
          .where("id", "=", id)
          .forUpdate()
          .executeTakeFirstOrThrow();
        const closed = await choiceClosed(trx, locked);
        if (closed !== undefined) throw assetChoiceClosed(closed);
        if (locked.payment_chain_id === chain.key && locked.token_address === token.address) {
          return locked;
        }
        await trx
          .insertInto("payment_intent_asset_changes")
          .values({
            payment_intent_id: id,
            payment_address: locked.payment_address,
            chain_id: locked.payment_chain_id,
            token_address: locked.token_address,
            symbol: locked.symbol,
            decimals: locked.decimals,
            crypto_amount: locked.crypto_amount,
            rate: locked.rate,
            rate_source: locked.rate_source,
            created_at: now(),
          })
          .execute();
        const updated = await trx
          .updateTable("payment_intents")
          .set({
            payment_chain_id: chain.key,
            token_address: token.address,
            symbol: token.symbol,
            decimals: token.decimals,
            crypto_amount: q.cryptoAmountBase,
            rate: q.rate,
            rate_source: q.rateSource,
            updated_at: now(),
          })
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendStatusHistory(trx, {
          paymentIntentId: id,
          from: "pending",
          to: "pending",
          cause: `payer chose ${chain.key}/${token.symbol} (was ${locked.payment_chain_id}/${locked.symbol})`,
          at: now(),
        });
        return updated;
      });
      return checkoutView(row);
    },
  };
}

export type PaymentIntentService = ReturnType<typeof createPaymentIntentService>;
