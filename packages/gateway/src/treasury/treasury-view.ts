import type { Kysely } from "kysely";
import type { Actor } from "../admin/audit-log.ts";
import { recordAudit } from "../admin/audit-log.ts";
import { verifySecondFactor } from "../admin/second-factor.ts";
import { type ChainRegistry, explorerTxUrl } from "../chain/chain-registry.ts";
import {
  type TreasurySettings,
  treasuryAddressProblem,
} from "../organizations/treasury-settings.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type { WalletView } from "../payouts/transfer-schemas.ts";
import type { Database } from "../platform/database/schema.ts";
import { validationError } from "../platform/errors.ts";

/** Studio's treasury page: where payments are collected, the fee, the hot wallet, collections. */
export function createTreasuryView(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  treasurySettings: TreasurySettings;
  walletOf: (orgId: number) => Promise<WalletView>;
}) {
  const { db, chains, treasurySettings } = options;

  async function collections(orgId: number, page: { page_number: number; page_size: number }) {
    const base = db
      .selectFrom("collections as c")
      .innerJoin("payment_intents as i", "i.id", "c.payment_intent_id")
      .where("i.org_id", "=", orgId);
    const [rows, count] = await Promise.all([
      base
        .leftJoin("chain_txs as t", "t.id", "c.chain_tx_id")
        .leftJoin("chain_txs as ft", "ft.id", "c.fee_chain_tx_id")
        .select([
          "c.payment_intent_id",
          "c.chain_id",
          "c.amount",
          "c.fee",
          "c.state",
          "c.treasury_address",
          "c.error",
          "c.created_at",
          "i.decimals",
          "i.symbol",
          "t.tx_hash",
          "ft.tx_hash as fee_tx_hash",
        ])
        .orderBy("c.created_at", "desc")
        .orderBy("c.id", "desc")
        .limit(page.page_size)
        .offset((page.page_number - 1) * page.page_size)
        .execute(),
      base.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
    ]);
    const amount = (v: string | null, decimals: number) =>
      v === null ? null : formatTokenAmount(BigInt(v), decimals);
    return {
      items: rows.map((r) => ({
        payment_intent_id: r.payment_intent_id,
        chain_id: r.chain_id,
        symbol: r.symbol,
        amount: amount(r.amount, r.decimals),
        fee: amount(r.fee, r.decimals),
        state: r.state,
        treasury_address: r.treasury_address,
        tx_hash: r.tx_hash,
        fee_tx_hash: r.fee_tx_hash,
        explorer_url: explorerTxUrl(chains, r.chain_id, r.tx_hash),
        error: r.error,
        created_at: new Date(r.created_at).toISOString(),
      })),
      total_count: Number(count.n),
      page_number: page.page_number,
      page_size: page.page_size,
    };
  }

  return {
    async get(orgId: number, page: { page_number: number; page_size: number }) {
      const [settings, wallet, collected] = await Promise.all([
        treasurySettings.getOrganizationTreasury(orgId),
        options.walletOf(orgId),
        collections(orgId, page),
      ]);
      return {
        treasury_address: settings.treasury_address,
        fee_bps: settings.fee_bps,
        hot_wallets: wallet.chains.map((c) => ({
          chain_id: c.chain_id,
          address: wallet.address,
          native_balance: c.native_balance,
          balances: c.tokens,
          error: c.error,
        })),
        collections: collected,
      };
    },

    /** A new treasury address: the member's second factor first, then the change and its audit row. */
    async changeAddress(
      orgId: number,
      member: { userId: number; actor: Actor },
      address: string,
      totpCode: string | undefined,
    ) {
      // Bad input is refused before the code is checked: a code works once, and a typo in the
      // address must not spend it.
      const problem = treasuryAddressProblem(address);
      if (problem) throw validationError("address", problem);
      await verifySecondFactor(db, member.userId, totpCode);
      return treasurySettings.setTreasury(orgId, address, (trx, before, after) =>
        recordAudit(trx, member.actor, {
          orgId,
          action: "treasury.address_changed",
          target: `organization:${orgId}`,
          before: { treasury_address: before },
          after: { treasury_address: after },
        }),
      );
    },
  };
}

export type TreasuryView = ReturnType<typeof createTreasuryView>;
