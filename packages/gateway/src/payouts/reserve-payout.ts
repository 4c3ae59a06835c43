import type { Kysely, Selectable, Transaction } from "kysely";
import type { Address } from "viem";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import type { Database, PayoutsTable } from "../platform/database/schema.ts";
import { createBalanceCheck } from "./check-balances.ts";
import { checkTransferLimits } from "./check-transfer-limits.ts";
import { createOrganizationLock } from "./organization-lock.ts";
import { findByIdempotencyKey, type PayoutRow, unixSeconds } from "./payout-queries.ts";
import type { ValidatedTransfer } from "./validate-transfer.ts";

export interface ReserveRequest {
  orgId: number;
  /** null: a withdrawal made in Studio (bound by the organisation's limits alone). */
  apiKeyId: number | null;
  /** The organisation's hot wallet. */
  from: Address;
  transfer: ValidatedTransfer;
  requestHash: string;
  idempotencyKey: string | undefined;
  /**
   * Run in the reserving transaction, under the organisation's lock: `before` ahead of the checks
   * (a state guard: throwing rolls everything back), `after` once the payout row is written (the
   * caller's own rows and audit entry commit with it).
   */
  hooks?: {
    before?: (trx: Transaction<Database>) => Promise<void>;
    after?: (trx: Transaction<Database>, row: Selectable<PayoutsTable>) => Promise<void>;
  };
}

/** A new reservation, or the payout an Idempotency-Key already names. */
export type Reservation = { row: Selectable<PayoutsTable> } | { prior: PayoutRow };

/**
 * The first half of a transfer (docs/decisions.md, "transfers": reserve, then sign): under the
 * organisation's lock, check the limits and the balances and write the payout row, so the next
 * request counts it. The lock is not held while signing and broadcasting.
 */
export function createPayoutReservations(options: {
  db: Kysely<Database>;
  txManager: Pick<TxManager, "estimate" | "client">;
  /** Releases or links reservations a stopped process left behind, before the checks count them. */
  settleAbandoned: (orgId: number) => Promise<void>;
  now: () => Date;
}) {
  const { db, now } = options;
  const lock = createOrganizationLock();
  const checkBalances = createBalanceCheck({ txManager: options.txManager });

  return async function reserve(r: ReserveRequest): Promise<Reservation> {
    const { orgId, idempotencyKey, transfer: v } = r;
    return lock.runExclusive(orgId, async () => {
      await options.settleAbandoned(orgId);
      return db.transaction().execute(async (trx): Promise<Reservation> => {
        // So two requests cannot both spend the same balance or the same daily allowance.
        await lock.lockInTransaction(trx, orgId);
        if (idempotencyKey !== undefined) {
          const prior = await findByIdempotencyKey(trx, { orgId, key: idempotencyKey, now: now() });
          if (prior) return { prior };
          // An older use of the key (over 24 h) gives way to this one.
          await trx
            .updateTable("payouts")
            .set({ idempotency_key: null })
            .where("org_id", "=", orgId)
            .where("idempotency_key", "=", idempotencyKey)
            .execute();
        }
        await r.hooks?.before?.(trx);
        await checkTransferLimits(trx, { orgId, apiKeyId: r.apiKeyId }, v, now());
        await checkBalances(trx, orgId, r.from, v);
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
            id: `${orgId}-${unixSeconds(createdAt)}-${seq}`,
            org_id: orgId,
            seq,
            api_key_id: r.apiKeyId,
            chain_id: v.chain.key,
            token_address: v.token.address,
            symbol: v.token.symbol,
            decimals: v.token.decimals,
            amount: v.amount,
            from_address: r.from,
            to_address: v.to,
            idempotency_key: idempotencyKey ?? null,
            request_hash: r.requestHash,
            chain_tx_id: null,
            created_at: createdAt,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await r.hooks?.after?.(trx, row);
        return { row };
      });
    });
  };
}
