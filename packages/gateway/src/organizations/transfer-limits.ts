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

/** The limits that bind a transfer: its organisation's, and its API key's (none for a person's). */
export async function readTransferLimits(
  q: Kysely<Database> | Transaction<Database>,
  caller: { orgId: number; apiKeyId: number | null },
): Promise<{ org: TransferLimits; key: TransferLimits }> {
  const [org, key] = await Promise.all([
    q
      .selectFrom("organizations")
      .select(["max_transfer_amount", "daily_transfer_cap"])
      .where("id", "=", caller.orgId)
      .executeTakeFirstOrThrow(),
    caller.apiKeyId === null
      ? { max_transfer_amount: null, daily_transfer_cap: null }
      : q
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

/** Studio's limits form: the organisation's limits and its withdrawal approval threshold. */
export interface OrgLimitsView {
  max_transfer_amount: string | null;
  daily_transfer_cap: string | null;
  withdrawal_approval_threshold: string | null;
}

const ORG_LIMIT_FIELDS = [
  "max_transfer_amount",
  "daily_transfer_cap",
  "withdrawal_approval_threshold",
] as const;

export async function readOrgLimits(
  q: Kysely<Database> | Transaction<Database>,
  orgId: number,
): Promise<OrgLimitsView> {
  const row = await q
    .selectFrom("organizations")
    .select([...ORG_LIMIT_FIELDS])
    .where("id", "=", orgId)
    .executeTakeFirst();
  if (!row) throw notFound(`organization ${orgId} not found`);
  const tidy = (v: string | null) => (v === null ? null : new Big(v).toFixed());
  return {
    max_transfer_amount: tidy(row.max_transfer_amount),
    daily_transfer_cap: tidy(row.daily_transfer_cap),
    withdrawal_approval_threshold: tidy(row.withdrawal_approval_threshold),
  };
}

/**
 * Changes the given fields (null removes a limit) in the caller's transaction, so its audit row
 * commits with it; errors name the wire field. Answers the limits before and after.
 */
export async function changeOrgLimits(
  trx: Transaction<Database>,
  orgId: number,
  patch: Partial<OrgLimitsView>,
): Promise<{ before: OrgLimitsView; after: OrgLimitsView }> {
  const changes: Partial<OrgLimitsView> = {};
  for (const field of ORG_LIMIT_FIELDS) {
    const value = patch[field];
    if (value !== undefined) changes[field] = parseLimit(value, field);
  }
  const before = await readOrgLimits(trx, orgId);
  if (Object.keys(changes).length > 0) {
    await trx.updateTable("organizations").set(changes).where("id", "=", orgId).execute();
  }
  return { before, after: await readOrgLimits(trx, orgId) };
}
