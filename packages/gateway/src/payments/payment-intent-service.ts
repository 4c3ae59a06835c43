import { type Kysely, sql, type Transaction } from "kysely";
import type { CallbackUrlGuard } from "../callbacks/url-guard.ts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { DepositAddresses } from "../chain/deposit-addresses.ts";
import type { TokenSymbol } from "../chain/known-chains.ts";
import {
  type Caller,
  callbackHostAllowed,
  callbackHostNotAllowed,
} from "../organizations/tenancy-service.ts";
import type { Database } from "../platform/database/schema.ts";
import { invalidClientId, paymentIntentNotFound, validationError } from "../platform/errors.ts";
import { newPaymentIntentId, PAYMENT_INTENT_ID_PATTERN } from "../platform/ids.ts";
import type { RateProvider } from "../rates/rate-provider.ts";
import { toCheckoutPaymentView, toPaymentIntentView } from "./intent-wire.ts";
import { appendStatusHistory } from "./lifecycle/status-history.ts";
import { quote } from "./quote.ts";
import {
  type CheckoutPayment,
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
  depositAddresses: DepositAddresses;
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
}

export function createPaymentIntentService(options: PaymentIntentServiceOptions) {
  const { db, chains, rates, depositAddresses } = options;
  const now = options.now ?? (() => new Date());

  return {
    async create(
      caller: Caller,
      input: CreatePaymentIntentBody,
      how: CreateIntentOptions = {},
    ): Promise<PaymentIntent> {
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
      // One round trip for the organisation's defaults and, for a server call without
      // X-Client-ID, the client the intent is booked on: the organisation's first.
      const org = await db
        .selectFrom("organizations as o")
        .select(["o.default_chain_id", "o.default_token_symbol"])
        .select((eb) =>
          eb
            .selectFrom("clients as c")
            .select("c.client_id")
            .whereRef("c.org_id", "=", "o.id")
            .orderBy("c.created_at")
            .orderBy("c.client_id")
            .limit(1)
            .as("first_client_id"),
        )
        .where("o.id", "=", caller.orgId)
        .executeTakeFirstOrThrow();
      const clientId = caller.client?.clientId ?? org.first_client_id;
      if (!clientId) {
        throw invalidClientId("send X-Client-ID: the organization has no client yet");
      }
      const chain = chains.get(org.default_chain_id);
      const token = chains.token(chain.key, org.default_token_symbol);
      const rate = await rates.getRate(input.fiat_currency, token.symbol as TokenSymbol);
      const q = quote({
        fiatAmount: input.fiat_amount,
        fiatCurrency: input.fiat_currency,
        rate,
        tokenDecimals: token.decimals,
        cryptoDecimals: Math.min(options.cryptoDecimals, token.decimals),
      });
      const createdAt = now();
      const deadline = new Date(
        Math.floor(createdAt.getTime() / 1000) * 1000 + options.ttlSeconds * 1000,
      );
      const id = newPaymentIntentId();
      // The sequence hands out each index once, even to concurrent creators on several
      // processes; an index burnt by a failed insert is an unused address, nothing more. Taken
      // before the transaction so the key derivation does not hold a connection.
      const { index } = await sql<{
        index: number;
      }>`select nextval('deposit_address_index')::int as index`
        .execute(db)
        .then((r) => r.rows[0] as { index: number });
      const paymentAddress = depositAddresses.addressAt(index);
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto("payment_intents")
          .values({
            id,
            org_id: caller.orgId,
            client_id: clientId,
            payment_chain_id: chain.key,
            payment_address: paymentAddress,
            deposit_index: index,
            token_address: token.address,
            symbol: token.symbol,
            decimals: token.decimals,
            crypto_amount: q.cryptoAmountBase,
            fiat_amount: input.fiat_amount,
            fiat_currency: input.fiat_currency,
            rate: q.rate,
            rate_source: q.rateSource,
            payment_deadline: deadline,
            status: "pending",
            payment_tx_hash: null,
            payment_tx_timestamp: null,
            payer_address: null,
            received_amount: null,
            refund_tx_hash: null,
            refund_amount: null,
            aggregated_amount: null,
            aggregation_tx_hash: null,
            excess_amount: null,
            late_amount: null,
            order_data: orderData,
            callback_url: input.callback_url ?? null,
            group_key: input.group_key ?? null,
            description: input.description?.trim() || null,
            return_url: input.return_url ?? null,
            created_at: createdAt,
            updated_at: createdAt,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendStatusHistory(trx, {
          paymentIntentId: id,
          from: null,
          to: "pending",
          cause:
            how.cause ??
            (caller.kind === "api_key" ? `api_key:${caller.apiKeyId}` : `client:${clientId}`),
          at: createdAt,
        });
        await how.inTransaction?.(trx, id);
        return inserted;
      });
      return toPaymentIntentView(row);
    },

    async get(caller: Caller, id: string): Promise<PaymentIntent> {
      if (!PAYMENT_INTENT_ID_PATTERN.test(id)) throw paymentIntentNotFound(id);
      let query = db
        .selectFrom("payment_intents")
        .selectAll()
        .where("id", "=", id)
        .where("org_id", "=", caller.orgId);
      // A browser sees only its own client's intents; a key sees its whole organisation.
      if (caller.kind === "browser") query = query.where("client_id", "=", caller.client.clientId);
      const row = await query.executeTakeFirst();
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
      let base = db.selectFrom("payment_intents").where("org_id", "=", caller.orgId);
      if (query.client_id !== undefined) base = base.where("client_id", "=", query.client_id);
      if (query.status !== undefined && query.status.length > 0)
        base = base.where("status", "in", query.status);
      if (query.group_key !== undefined && query.group_key !== "") {
        // strpos, not LIKE: % and _ typed by the merchant are matched literally.
        base = base.where((eb) =>
          eb(
            eb.fn("strpos", [
              eb.fn("lower", ["group_key"]),
              eb.fn("lower", [eb.val(query.group_key)]),
            ]),
            ">",
            0,
          ),
        );
      }
      const [items, count] = await Promise.all([
        base
          .selectAll()
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .limit(query.page_size)
          .offset((query.page_number - 1) * query.page_size)
          .execute(),
        base.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
      ]);
      return {
        items: items.map(toPaymentIntentView),
        total_count: Number(count.n),
        page_number: query.page_number,
        page_size: query.page_size,
      };
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
          .where("payment_intent_id", "=", id)
          .where("state", "=", "confirmed")
          .orderBy("block_number")
          .orderBy("log_index")
          .execute(),
      ]);
      return toCheckoutPaymentView(row, chains, now(), { merchant, transfers });
    },
  };
}

export type PaymentIntentService = ReturnType<typeof createPaymentIntentService>;
