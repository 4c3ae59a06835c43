import { type Kysely, sql } from "kysely";
import { formatEther } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import { classifyTxError } from "../chain/tx-manager/classify-error.ts";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type { Database } from "../platform/database/schema.ts";
import { tokenBalanceOf } from "./erc20.ts";
import { inFlightPayouts } from "./payout-queries.ts";
import type { WalletView } from "./transfer-schemas.ts";

/** An organisation's hot wallet: its balances on every chain with an RPC URL, and what is in flight. */
export function createHotWalletView(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  txManager: Pick<TxManager, "client">;
  wallets: { hotWallet(orgId: number): PrivateKeyAccount };
}) {
  const { db, chains, txManager, wallets } = options;

  return async function walletOf(orgId: number): Promise<WalletView> {
    const address = wallets.hotWallet(orgId).address;
    const configured = chains.list().filter((c) => c.rpcUrls.length > 0);
    const inFlight = await inFlightPayouts(db, orgId)
      .select(["p.chain_id", "p.token_address", sql<string | null>`sum(p.amount)`.as("total")])
      .groupBy(["p.chain_id", "p.token_address"])
      .execute();
    const chainsView = await Promise.all(
      configured.map(async (chain) => {
        const c = txManager.client(chain.key);
        let native: bigint | null = null;
        let balances: (bigint | null)[] = chain.tokens.map(() => null);
        let error: string | null = null;
        try {
          [native, ...balances] = await Promise.all([
            c.getBalance({ address }),
            ...chain.tokens.map((t) => tokenBalanceOf(c, t.address, address)),
          ]);
        } catch (err) {
          error = classifyTxError(err).message || "the RPC did not answer";
        }
        return {
          chain_id: chain.key,
          native_balance: native === null ? null : formatEther(native),
          tokens: chain.tokens.map((t, i) => {
            const flight = inFlight.find(
              (r) => r.chain_id === chain.key && r.token_address === t.address,
            );
            const balance = balances[i] ?? null;
            return {
              symbol: t.symbol,
              contract_address: t.address,
              decimals: t.decimals,
              balance: balance === null ? null : formatTokenAmount(balance, t.decimals),
              in_flight: formatTokenAmount(BigInt(flight?.total ?? "0"), t.decimals),
            };
          }),
          error,
        };
      }),
    );
    return { address, chains: chainsView };
  };
}
