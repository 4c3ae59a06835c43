import Big from "big.js";
import { sql, type Transaction } from "kysely";
import { readTransferLimits } from "../organizations/transfer-limits.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type { Database } from "../platform/database/schema.ts";
import { ErrorCode } from "../platform/errors.ts";
import { payoutsWithTx } from "./payout-queries.ts";
import { limitExceeded } from "./transfer-errors.ts";
import type { ValidatedTransfer } from "./validate-transfer.ts";

/**
 * What the organisation (or one of its keys) has sent since 00:00 UTC, counting reservations
 * and everything not failed. A daily cap spans chains and tokens: decimal amounts of tokens with
 * different decimals are summed exactly.
 */
export async function spentToday(
  trx: Transaction<Database>,
  where: { orgId: number; apiKeyId?: number; now: Date },
): Promise<Big> {
  const t = where.now;
  const dayStart = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  let q = payoutsWithTx(trx)
    .select(["p.decimals", sql<string | null>`sum(p.amount)`.as("total")])
    .where("p.org_id", "=", where.orgId)
    .where("p.created_at", ">=", dayStart)
    .where((eb) => eb.or([eb("p.chain_tx_id", "is", null), eb("t.state", "!=", "failed")]))
    .groupBy("p.decimals");
  if (where.apiKeyId !== undefined) q = q.where("p.api_key_id", "=", where.apiKeyId);
  return (await q.execute()).reduce(
    (sum, r) => sum.plus(formatTokenAmount(BigInt(r.total ?? "0"), r.decimals)),
    new Big(0),
  );
}

/**
 * The organisation's and the API key's per-transfer maximum and daily cap (a withdrawal made in
 * Studio has no API key: the organisation's alone). Run under the
 * organisation's lock, so the day's sum includes every reservation made before this one.
 */
export async function checkTransferLimits(
  trx: Transaction<Database>,
  caller: { orgId: number; apiKeyId: number | null },
  v: ValidatedTransfer,
  now: Date,
): Promise<void> {
  const { org, key } = await readTransferLimits(trx, caller);
  const amount = new Big(formatTokenAmount(v.amount, v.token.decimals));
  const perTransfer = [
    [org.maxTransfer, ErrorCode.orgTransferLimitExceeded, "organisation"],
    [key.maxTransfer, ErrorCode.keyTransferLimitExceeded, "API key"],
  ] as const;
  for (const [limit, code, whose] of perTransfer) {
    if (limit !== null && amount.gt(limit)) {
      const max = new Big(limit).toFixed();
      throw limitExceeded(
        code,
        `amount ${amount.toFixed()} exceeds the ${whose}'s per-transfer maximum of ${max}`,
        { limit: "max_transfer_amount", max_transfer_amount: max },
      );
    }
  }
  const daily = [
    [org.dailyCap, ErrorCode.orgDailyCapExceeded, "organisation", undefined],
    [key.dailyCap, ErrorCode.keyDailyCapExceeded, "API key", caller.apiKeyId ?? undefined],
  ] as const;
  for (const [cap, code, whose, apiKeyId] of daily) {
    if (cap === null) continue;
    const spent = await spentToday(trx, {
      orgId: caller.orgId,
      now,
      ...(apiKeyId === undefined ? {} : { apiKeyId }),
    });
    if (spent.plus(amount).gt(cap)) {
      const capText = new Big(cap).toFixed();
      const remaining = new Big(cap).minus(spent);
      throw limitExceeded(
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
