import Big from "big.js";
import type { Kysely, Transaction } from "kysely";
import { PLAIN_DECIMAL } from "../payments/money.ts";
import type { Database } from "../platform/database/schema.ts";
import { notFound, validationError } from "../platform/errors.ts";

/**
 * An organisation's or an API key's risk limits for transfers, in token units (USDT and USDC
 * alike, see docs/decisions.md "transfers"). payouts/ enforces them; this is where they are kept.
 */
export interface TransferLimits {
  /** Decimal token amount; null removes the limit. */
  maxTransfer: string | null;
  dailyCap: string | null;
}

const LIMIT_MAX_DECIMALS = 18;

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
 * The limit columns (same names on organizations and api_keys) that `limits` changes, checked.
 * `fields` names them in errors as the caller knows them (the CLI's options, the API's fields).
 */
export function parseTransferLimits(
  limits: Partial<TransferLimits>,
  fields = { maxTransfer: "max_transfer_amount", dailyCap: "daily_transfer_cap" },
) {
  return {
    ...(limits.maxTransfer === undefined
      ? {}
      : { max_transfer_amount: parseLimit(limits.maxTransfer, fields.maxTransfer) }),
    ...(limits.dailyCap === undefined
      ? {}
      : { daily_transfer_cap: parseLimit(limits.dailyCap, fields.dailyCap) }),
  };
}

const CLI_FIELDS = { maxTransfer: "max_transfer", dailyCap: "daily_cap" };

const toLimits = (row: {
  max_transfer_amount: string | null;
  daily_transfer_cap: string | null;
}): TransferLimits => ({ maxTransfer: row.max_transfer_amount, dailyCap: row.daily_transfer_cap });

/** The limits that bind a transfer by this API key: its organisation's and its own. */
export async function readTransferLimits(
  q: Kysely<Database> | Transaction<Database>,
  caller: { orgId: number; apiKeyId: number },
): Promise<{ org: TransferLimits; key: TransferLimits }> {
  const [org, key] = await Promise.all([
    q
      .selectFrom("organizations")
      .select(["max_transfer_amount", "daily_transfer_cap"])
      .where("id", "=", caller.orgId)
      .executeTakeFirstOrThrow(),
    q
      .selectFrom("api_keys")
      .select(["max_transfer_amount", "daily_transfer_cap"])
      .where("id", "=", caller.apiKeyId)
      .executeTakeFirstOrThrow(),
  ]);
  return { org: toLimits(org), key: toLimits(key) };
}

/** Setting the limits (`stablegate org set-limits`, `stablegate key set-limits`). */
export function createTransferLimits({ db }: { db: Kysely<Database> }) {
  async function set(
    table: "organizations" | "api_keys",
    id: number,
    limits: Partial<TransferLimits>,
    missing: string,
  ): Promise<TransferLimits> {
    const row = await db
      .updateTable(table)
      .set(parseTransferLimits(limits, CLI_FIELDS))
      .where("id", "=", id)
      .returning(["max_transfer_amount", "daily_transfer_cap"])
      .executeTakeFirst();
    if (!row) throw notFound(missing);
    return toLimits(row);
  }
  return {
    setOrgLimits: (orgId: number, limits: Partial<TransferLimits>) =>
      set("organizations", orgId, limits, `organization ${orgId} not found`),
  };
}

export type TransferLimitsService = ReturnType<typeof createTransferLimits>;
