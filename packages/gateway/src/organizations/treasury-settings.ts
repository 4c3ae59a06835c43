import type { Kysely, Transaction } from "kysely";
import { getAddress, isAddress, zeroAddress } from "viem";
import type { Database } from "../platform/database/schema.ts";
import { notFound, validationError } from "../platform/errors.ts";
import { assertFeeBps } from "../treasury/rules.ts";
import { enqueueTreasuryWork } from "../treasury/treasury-work.ts";

export interface OrganizationTreasury {
  org_id: number;
  treasury_address: string | null;
  fee_bps: number;
}

/**
 * An organisation's treasury settings: where its payments are collected, and the operator's fee
 * on each collection. The treasury worker reads them when it collects.
 */
/** Why `address` cannot be a treasury address, or undefined when it can. */
export function treasuryAddressProblem(address: string): string | undefined {
  // Strict: a mixed-case address must carry a valid EIP-55 checksum, so a typo is caught here
  // rather than collecting payments into an address nobody holds.
  if (!isAddress(address)) {
    return `${address} is not an EVM address (0x and 40 hex digits, lower case or EIP-55 checksummed)`;
  }
  if (address.toLowerCase() === zeroAddress) return "must not be the zero address";
  return undefined;
}

export function createTreasurySettings(options: { db: Kysely<Database>; now?: () => Date }) {
  const { db } = options;
  const now = options.now ?? (() => new Date());

  async function getOrganizationTreasury(orgId: number): Promise<OrganizationTreasury> {
    const row = await db
      .selectFrom("organizations")
      .select(["id", "treasury_address", "fee_bps"])
      .where("id", "=", orgId)
      .executeTakeFirst();
    if (!row) throw notFound(`organization ${orgId} not found`);
    return { org_id: row.id, treasury_address: row.treasury_address, fee_bps: row.fee_bps };
  }

  return {
    getOrganizationTreasury,

    /**
     * Sets where an organisation's payments are collected; collections waiting for it resume.
     * `audit` runs in the same transaction with the address before and after (Studio's record).
     */
    async setTreasury(
      orgId: number,
      address: string,
      audit?: (trx: Transaction<Database>, before: string | null, after: string) => Promise<void>,
    ): Promise<OrganizationTreasury> {
      const problem = treasuryAddressProblem(address);
      if (problem) throw validationError("treasury_address", problem);
      await getOrganizationTreasury(orgId);
      await db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom("organizations")
          .select("treasury_address")
          .where("id", "=", orgId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        await trx
          .updateTable("organizations")
          .set({ treasury_address: getAddress(address) })
          .where("id", "=", orgId)
          .execute();
        await audit?.(trx, before.treasury_address, getAddress(address));
        const waiting = await trx
          .selectFrom("collections")
          .innerJoin("payment_intents", "payment_intents.id", "collections.payment_intent_id")
          .select("collections.payment_intent_id")
          .where("payment_intents.org_id", "=", orgId)
          .where("collections.state", "=", "waiting_treasury")
          .execute();
        for (const w of waiting) await enqueueTreasuryWork(trx, w.payment_intent_id, now());
      });
      return getOrganizationTreasury(orgId);
    },

    /** The operator's fee on the organisation's future collections, in basis points. */
    async setFee(orgId: number, bps: number): Promise<OrganizationTreasury> {
      assertFeeBps(bps);
      await getOrganizationTreasury(orgId);
      await db.updateTable("organizations").set({ fee_bps: bps }).where("id", "=", orgId).execute();
      return getOrganizationTreasury(orgId);
    },
  };
}

export type TreasurySettings = ReturnType<typeof createTreasurySettings>;
