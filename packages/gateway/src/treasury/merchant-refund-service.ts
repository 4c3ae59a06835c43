import { createHash } from "node:crypto";
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { type Address, getAddress, isAddress, zeroAddress } from "viem";
import { lockIntent } from "../payments/lifecycle/transition.ts";
import { formatTokenAmount, parseTokenAmount } from "../payments/money.ts";
import type {
  Database,
  MerchantRefundStatus,
  MerchantRefundsTable,
  PaymentIntentsTable,
} from "../platform/database/schema.ts";
import {
  DomainError,
  ErrorCode,
  paymentIntentNotFound,
  validationError,
} from "../platform/errors.ts";
import { newRefundId } from "../platform/ids.ts";
import type { Refund, RefundBody, RefundList } from "./merchant-refund-schemas.ts";
import { enqueueTreasuryWork } from "./treasury-work.ts";

type Db = Kysely<Database> | Transaction<Database>;

/** A same-key request after this long is a new request (as for transfers). */
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** Namespace of the per-organisation advisory lock that serialises refund requests. */
const LOCK_NAMESPACE = 0x7266_6e64; // "rfnd"
/** Collection states after which the funds are no longer (or soon not) on the deposit address. */
const COLLECTING = ["pending", "submitted", "confirmed", "failed"] as const;

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

export function refundNotAllowed(message: string, data?: Record<string, unknown>): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.refundNotAllowed,
    message,
    ...(data ? { data } : {}),
  });
}

export interface RefundRequester {
  orgId: number;
  /** `api_key:<id>` or `member:<account id>`: who asked, kept on the row. */
  requestedBy: string;
}

/**
 * What a merchant refund may still take (base units): the intent's on-time payments, less every
 * merchant refund not failed. Nothing unless the intent succeeded and its funds are still on the
 * deposit address: an insufficient payment and a late one are refunded in full automatically, and
 * collected funds are in the treasury (refund those with the transfer API).
 */
export function merchantRefundable(input: {
  received: bigint;
  refunds: readonly { amount: bigint; status: MerchantRefundStatus }[];
}): bigint {
  const taken = input.refunds
    .filter((r) => r.status !== "failed")
    .reduce((sum, r) => sum + r.amount, 0n);
  const left = input.received - taken;
  return left > 0n ? left : 0n;
}

/**
 * Merchant refunds, the request side: validate, decide under the intent's row lock (the treasury
 * worker's collection takes the same lock, so neither moves what the other reserved) and store
 * the request with its treasury work, in one transaction. The treasury worker sends it
 * (merchant-refund-sender.ts). Exactly once per Idempotency-Key: the row is the decision.
 */
export function createMerchantRefundService(options: {
  db: Kysely<Database>;
  now?: () => Date;
  /** The treasury worker should look now (this process's). */
  nudge?: () => void;
}) {
  const { db } = options;
  const now = options.now ?? (() => new Date());

  async function ownIntent(q: Db, orgId: number, id: string) {
    const intent = await q
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", id)
      .where("org_id", "=", orgId)
      .executeTakeFirst();
    if (!intent) throw paymentIntentNotFound(id);
    return intent;
  }

  async function refundsOf(q: Db, intentId: string) {
    return q
      .selectFrom("merchant_refunds as r")
      .leftJoin("chain_txs as t", "t.id", "r.chain_tx_id")
      .selectAll("r")
      .select("t.tx_hash as tx_hash")
      .where("r.payment_intent_id", "=", intentId)
      .orderBy("r.created_at")
      .orderBy("r.id")
      .execute();
  }

  /** The on-time payments' total and senders (late ones are refunded automatically). */
  async function onTimePayments(q: Db, intent: Selectable<PaymentIntentsTable>) {
    const rows = await q
      .selectFrom("transfers")
      .select(["from_address", "amount"])
      .where("payment_intent_id", "=", intent.id)
      .where("state", "=", "confirmed")
      .where("block_timestamp", "<=", intent.payment_deadline)
      .execute();
    return {
      received: rows.reduce((s, r) => s + BigInt(r.amount), 0n),
      senders: [...new Set(rows.map((r) => getAddress(r.from_address)))],
    };
  }

  /** Base units still refundable, and why none is when none is (for the 409's message). */
  async function refundable(
    q: Db,
    intent: Selectable<PaymentIntentsTable>,
  ): Promise<{ amount: bigint; refusal?: string }> {
    if (intent.reversed_at !== null) {
      return {
        amount: 0n,
        refusal: "its payment was reversed by a deep reorg; a person must settle it",
      };
    }
    if (intent.status !== "success") {
      return {
        amount: 0n,
        refusal:
          intent.status === "pending"
            ? "it is still pending; refund once it succeeded"
            : `its status is ${intent.status}: what it received is (or is being) refunded automatically`,
      };
    }
    const collection = await q
      .selectFrom("collections")
      .select("state")
      .where("payment_intent_id", "=", intent.id)
      .executeTakeFirst();
    if (collection && (COLLECTING as readonly string[]).includes(collection.state)) {
      return {
        amount: 0n,
        refusal:
          "its funds were collected (or are being collected) into the organisation's treasury; send a refund from the hot wallet with POST /v1/studio/api/asset_pro/transfer",
      };
    }
    const { received } = await onTimePayments(q, intent);
    const refunds = await q
      .selectFrom("merchant_refunds")
      .select(["amount", "status"])
      .where("payment_intent_id", "=", intent.id)
      .execute();
    const amount = merchantRefundable({
      received,
      refunds: refunds.map((r) => ({ amount: BigInt(r.amount), status: r.status })),
    });
    return amount > 0n ? { amount } : { amount, refusal: "it has been refunded in full" };
  }

  function toView(
    row: Selectable<MerchantRefundsTable> & { tx_hash: string | null },
    intent: Pick<Selectable<PaymentIntentsTable>, "decimals" | "symbol">,
  ): Refund {
    return {
      refund_id: row.id,
      payment_intent_id: row.payment_intent_id,
      status: row.status,
      amount: formatTokenAmount(BigInt(row.amount), intent.decimals),
      symbol: intent.symbol,
      chain_id: row.chain_id,
      from_address: row.from_address,
      to_address: row.to_address,
      tx_hash: row.tx_hash,
      error: row.error,
      created_at: unix(row.created_at),
      updated_at: unix(row.updated_at),
    };
  }

  async function view(refundId: string): Promise<Refund> {
    const row = await db
      .selectFrom("merchant_refunds as r")
      .innerJoin("payment_intents as i", "i.id", "r.payment_intent_id")
      .leftJoin("chain_txs as t", "t.id", "r.chain_tx_id")
      .selectAll("r")
      .select(["t.tx_hash as tx_hash", "i.decimals", "i.symbol"])
      .where("r.id", "=", refundId)
      .executeTakeFirstOrThrow();
    return toView(row, row);
  }

  function requestHash(intentId: string, amount: bigint | null, to: Address | null): string {
    return createHash("sha256")
      .update(JSON.stringify([intentId, amount === null ? null : `${amount}`, to]))
      .digest("hex");
  }

  function parseRecipient(input: string | undefined, intent: Selectable<PaymentIntentsTable>) {
    if (input === undefined) return null;
    if (!isAddress(input, { strict: false })) {
      throw validationError("to_address", "must be a 0x-prefixed 20-byte hex address");
    }
    const to = getAddress(input);
    if (to === zeroAddress) throw validationError("to_address", "must not be the zero address");
    if (to === getAddress(intent.payment_address)) {
      throw validationError("to_address", "is the intent's own deposit address");
    }
    return to;
  }

  return {
    /**
     * Records a refund of `body.amount` (all that is refundable when omitted) to `body.to_address`
     * (the payer when omitted). The same Idempotency-Key with the same body returns the first
     * refund; with another body it is refused (409, 4018).
     */
    async refund(
      who: RefundRequester,
      intentId: string,
      body: RefundBody,
      idempotencyKey: string | undefined,
    ): Promise<Refund> {
      if (idempotencyKey === undefined) {
        throw validationError(
          "Idempotency-Key",
          "is required: a refund moves money, and a retry must not send it twice",
        );
      }
      if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw validationError("Idempotency-Key", "must be 1-255 visible ASCII characters");
      }
      const found = await ownIntent(db, who.orgId, intentId);
      const amount =
        body.amount === undefined ? null : parseTokenAmount(body.amount, found.decimals, "amount");
      if (amount === 0n) throw validationError("amount", "must be more than 0");
      const to = parseRecipient(body.to_address, found);
      const hash = requestHash(intentId, amount, to);

      const id = await db.transaction().execute(async (trx) => {
        // Requests of one organisation in turn: two with the same key cannot both insert.
        await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${who.orgId})`.execute(trx);
        const at = now();
        const prior = await trx
          .selectFrom("merchant_refunds")
          .select(["id", "request_hash"])
          .where("org_id", "=", who.orgId)
          .where("idempotency_key", "=", idempotencyKey)
          .where("created_at", ">=", new Date(at.getTime() - IDEMPOTENCY_WINDOW_MS))
          .executeTakeFirst();
        if (prior) {
          if (prior.request_hash !== hash) {
            throw new DomainError({
              status: 409,
              code: ErrorCode.idempotencyKeyReused,
              message: `Idempotency-Key ${JSON.stringify(idempotencyKey)} was used for a different refund (${prior.id}) in the last 24 hours`,
              data: { refund_id: prior.id },
            });
          }
          return prior.id;
        }
        // An older use of the key (over 24 h) gives way to this one.
        await trx
          .updateTable("merchant_refunds")
          .set({ idempotency_key: null })
          .where("org_id", "=", who.orgId)
          .where("idempotency_key", "=", idempotencyKey)
          .execute();
        // The collection decides under this same lock (collections.ts): what is reserved here is
        // not collected, and once a collection is decided nothing more is refunded.
        const intent = await lockIntent(trx, intentId);
        if (!intent) throw paymentIntentNotFound(intentId);
        const left = await refundable(trx, intent);
        if (left.refusal !== undefined) {
          throw refundNotAllowed(`payment intent ${intentId} cannot be refunded: ${left.refusal}`, {
            refundable_amount: formatTokenAmount(left.amount, intent.decimals),
          });
        }
        const wanted = amount ?? left.amount;
        if (wanted > left.amount) {
          throw new DomainError({
            status: 409,
            code: ErrorCode.refundExceedsRefundable,
            message: `amount ${formatTokenAmount(wanted, intent.decimals)} ${intent.symbol} is more than the ${formatTokenAmount(left.amount, intent.decimals)} ${intent.symbol} still refundable`,
            data: { refundable_amount: formatTokenAmount(left.amount, intent.decimals) },
          });
        }
        let recipient = to;
        if (recipient === null) {
          const { senders } = await onTimePayments(trx, intent);
          if (senders.length !== 1) {
            throw new DomainError({
              status: 400,
              code: ErrorCode.refundRecipientUnknown,
              message:
                senders.length === 0
                  ? "to_address is required: the payment's sender is unknown"
                  : `to_address is required: the payment came from ${senders.length} addresses (${senders.join(", ")})`,
              data: { payer_addresses: senders },
            });
          }
          recipient = senders[0] as Address;
        }
        const refundId = newRefundId();
        await trx
          .insertInto("merchant_refunds")
          .values({
            id: refundId,
            payment_intent_id: intent.id,
            org_id: who.orgId,
            chain_id: intent.payment_chain_id,
            token_address: intent.token_address,
            from_address: intent.payment_address,
            to_address: recipient,
            amount: wanted,
            idempotency_key: idempotencyKey,
            request_hash: hash,
            requested_by: who.requestedBy,
            created_at: at,
            updated_at: at,
          })
          .execute();
        await enqueueTreasuryWork(trx, intent.id, at);
        return refundId;
      });
      options.nudge?.();
      return view(id);
    },

    /** The intent's refunds, oldest first, and what is still refundable. */
    async list(orgId: number, intentId: string): Promise<RefundList> {
      const intent = await ownIntent(db, orgId, intentId);
      const rows = await refundsOf(db, intentId);
      const left = await refundable(db, intent);
      return {
        items: rows.map((r) => toView(r, intent)),
        refundable_amount: formatTokenAmount(left.amount, intent.decimals),
      };
    },
  };
}

export type MerchantRefundService = ReturnType<typeof createMerchantRefundService>;
