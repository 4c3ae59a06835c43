import { type Kysely, sql, type Transaction } from "kysely";
import type { Wallets } from "../chain/wallets.ts";
import type { Database } from "../platform/database/schema.ts";

/** One of the gateway's own addresses, as the ledger names it. */
export interface AddressOwner {
  kind: "deposit" | "hot" | "gas" | "fee";
  orgId?: number | undefined;
  paymentIntentId?: string | undefined;
}

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Which of the gateway's keys an address belongs to: a deposit address (its intent and
 * organisation), an organisation's hot wallet, the gas wallet, or the fee wallet (the seed's; a
 * FEE_ADDRESS set elsewhere is not the gateway's to account for).
 */
export function createAddressBook(options: { wallets: Wallets }) {
  const { wallets } = options;
  const hotWallets = new Map<number, string>();

  async function hot(executor: Executor): Promise<Map<string, AddressOwner>> {
    const orgs = await executor.selectFrom("organizations").select("id").execute();
    const found = new Map<string, AddressOwner>();
    for (const { id } of orgs) {
      let address = hotWallets.get(id);
      if (!address) {
        address = wallets.hotWallet(id).address.toLowerCase();
        hotWallets.set(id, address);
      }
      found.set(address, { kind: "hot", orgId: id });
    }
    return found;
  }

  return {
    /** The gas, fee and hot wallets by lower-case address (not the deposit addresses). */
    async wallets(executor: Executor): Promise<Map<string, AddressOwner>> {
      const found = await hot(executor);
      found.set(wallets.gasWallet().address.toLowerCase(), { kind: "gas" });
      found.set(wallets.feeWallet().address.toLowerCase(), { kind: "fee" });
      return found;
    },

    /** The owner of an address on a chain, or undefined when it is not the gateway's. */
    async owner(
      executor: Executor,
      chainKey: string,
      address: string,
    ): Promise<AddressOwner | undefined> {
      const wanted = address.toLowerCase();
      if (wanted === wallets.gasWallet().address.toLowerCase()) return { kind: "gas" };
      if (wanted === wallets.feeWallet().address.toLowerCase()) return { kind: "fee" };
      const intent = await executor
        .selectFrom("payment_intents")
        .select(["id", "org_id"])
        .where("payment_chain_id", "=", chainKey)
        .where(sql<string>`lower(payment_address)`, "=", wanted)
        .executeTakeFirst();
      if (intent) return { kind: "deposit", orgId: intent.org_id, paymentIntentId: intent.id };
      return (await hot(executor)).get(wanted);
    },
  };
}

export type AddressBook = ReturnType<typeof createAddressBook>;
