import { type Kysely, sql } from "kysely";
import { createPublicClient, formatEther, http, type PublicClient, parseEther } from "viem";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { Wallets } from "../chain/wallets.ts";
import { readCallbacksDue, readOutgoingTxs } from "../observability/stored-state.ts";
import type { ChainHealth } from "../payments/lifecycle/chain-health.ts";
import type { Database } from "../platform/database/schema.ts";

/** What the operator's health page reads. */
export interface OperatorHealthDependencies {
  chains: ChainRegistry;
  chainHealth: ChainHealth;
  wallets: Wallets;
  /** The tx manager's client of a chain (its RPC URLs, with fallback). */
  client: (chainKey: string) => PublicClient;
  /** TX_REPLACE_AFTER_BLOCKS: when an outgoing transaction counts as stuck. */
  replaceAfterBlocks: number;
  /** GAS_WALLET_LOW_BALANCE: below this (in the chain's native coin) a wallet is "low". */
  lowNativeBalance: string;
}

// An RPC URL's host only: a URL often carries an API key in its path or query, or a password.
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(not a URL)";
  }
}

// One eth_blockNumber per URL, each on its own (the registry's client falls back across them,
// which would hide a dead one).
async function probe(url: string): Promise<boolean> {
  try {
    await createPublicClient({
      transport: http(url, { timeout: 5000, retryCount: 0 }),
    }).getBlockNumber();
    return true;
  } catch {
    return false;
  }
}

/** The operator's view of the gateway: chains, callbacks, outgoing transactions, gas wallets. */
export async function readOperatorHealth(
  db: Kysely<Database>,
  deps: OperatorHealthDependencies,
  now: Date = new Date(),
) {
  const followed = deps.chains.list().filter((c) => c.rpcUrls.length > 0);
  const low = parseEther(deps.lowNativeBalance);
  const [readiness, due, txs, failing, rpc, wallets] = await Promise.all([
    deps.chainHealth.check(followed.map((c) => c.key)),
    readCallbacksDue(db, now),
    readOutgoingTxs(db, deps.replaceAfterBlocks),
    db
      .selectFrom("callback_events")
      // Endpoints by scheme and host, as the callbacks page groups them.
      .select(sql<string>`count(distinct substring(url from '^[a-z]+://[^/]+'))`.as("n"))
      .where("state", "=", "pending")
      .where("last_error", "is not", null)
      .executeTakeFirstOrThrow(),
    Promise.all(
      followed.map(async (c) =>
        Promise.all(c.rpcUrls.map(async (u) => ({ host: hostOf(u), up: await probe(u) }))),
      ),
    ),
    Promise.all(
      followed.flatMap((c) =>
        (
          [
            ["gas", deps.wallets.gasWallet().address],
            ["fee", deps.wallets.feeWallet().address],
          ] as const
        ).map(async ([role, address]) => {
          let balance: bigint | null = null;
          try {
            balance = await deps.client(c.key).getBalance({ address });
          } catch {
            // Shown as unknown: the chain's RPC URLs are listed as down above.
          }
          return {
            chain_id: c.key,
            role,
            address,
            native_balance: balance === null ? null : formatEther(balance),
            low: balance !== null && balance < low,
          };
        }),
      ),
    ),
  ]);
  const txsByChain = new Map(txs.map((t) => [t.chain_id, t]));
  return {
    chains: readiness.map((r, i) => ({
      chain_id: r.chain,
      head: r.head,
      processed: r.processed,
      lag: r.lag_blocks,
      ready: r.ready,
      problem: r.problem ?? null,
      message: r.message ?? null,
      rpc_urls: rpc[i] ?? [],
    })),
    callbacks: {
      due: due.count,
      oldest_due_at: due.oldest?.toISOString() ?? null,
      failing_endpoints: Number(failing.n),
    },
    transactions: {
      pending: [...txsByChain.values()].reduce((n, t) => n + t.pending, 0),
      stuck: [...txsByChain.values()].reduce((n, t) => n + t.stuck, 0),
    },
    wallets,
  };
}
