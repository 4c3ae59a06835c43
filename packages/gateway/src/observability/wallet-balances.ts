import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { Gauge } from "prom-client";
import { type Address, formatUnits, type PublicClient } from "viem";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { Wallets } from "../chain/wallets.ts";
import { tokenBalanceOf } from "../payouts/erc20.ts";
import type { Database } from "../platform/database/schema.ts";
import type { Metrics } from "./metrics.ts";

// The gas, fee and hot wallets' balances, native and token, per chain with RPC URLs. Reading
// them costs RPC calls (wallets x (1 + tokens) per chain), so they are not read on every scrape:
// a scrape that finds the last reading older than the TTL starts a new one and answers with the
// new values if they arrive within a couple of seconds, else with the previous ones. A process
// that is never scraped makes no calls at all, and several scrapers (or processes) cost at most
// one reading per TTL each.

export interface WalletBalanceOptions {
  db: Kysely<Database>;
  chains: ChainRegistry;
  wallets: Wallets;
  client: (chainKey: string) => PublicClient;
  log: Logger;
  /** METRICS_BALANCE_TTL_SECONDS, in ms. */
  ttlMs: number;
  /** How long a scrape waits for a fresh reading before answering with the last one. */
  waitMs?: number;
}

interface Reading {
  labels: { chain: string; wallet: string; org: string; token: string };
  value: number;
}

export function registerWalletBalanceGauge(metrics: Metrics, options: WalletBalanceOptions): void {
  const { log } = options;
  const waitMs = options.waitMs ?? 2000;
  let readings: Reading[] = [];
  let readAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  async function read(): Promise<Reading[]> {
    const owners: { wallet: string; org: string; address: Address }[] = [
      { wallet: "gas", org: "", address: options.wallets.gasWallet().address },
      { wallet: "fee", org: "", address: options.wallets.feeWallet().address },
    ];
    const orgs = await options.db.selectFrom("organizations").select("id").orderBy("id").execute();
    for (const { id } of orgs)
      owners.push({
        wallet: "hot",
        org: String(id),
        address: options.wallets.hotWallet(id).address,
      });
    const chains = options.chains.list().filter((c) => c.rpcUrls.length > 0);
    const out: Reading[] = [];
    await Promise.all(
      chains.map(async (chain) => {
        const client = options.client(chain.key);
        for (const owner of owners) {
          const base = { chain: chain.key, wallet: owner.wallet, org: owner.org };
          try {
            const native = await client.getBalance({ address: owner.address });
            out.push({
              labels: { ...base, token: "native" },
              value: Number(formatUnits(native, 18)),
            });
            for (const token of chain.tokens) {
              const raw = await tokenBalanceOf(client, token.address as Address, owner.address);
              out.push({
                labels: { ...base, token: token.symbol },
                value: Number(formatUnits(raw, token.decimals)),
              });
            }
          } catch (err) {
            log.warn(
              { err, chain: chain.key, wallet: owner.wallet },
              "metrics: reading a balance failed",
            );
          }
        }
      }),
    );
    return out;
  }

  function refresh(): Promise<void> {
    inFlight ??= read()
      .then((r) => {
        readings = r;
      })
      .catch((err: unknown) => log.warn({ err }, "metrics: reading wallet balances failed"))
      .finally(() => {
        // A failed reading waits for the TTL too: a dead RPC must not cost calls on every scrape.
        readAt = Date.now();
        inFlight = undefined;
      });
    return inFlight;
  }

  new Gauge({
    name: "stablegate_wallet_balance",
    help: "Balances of the gateway's gas, fee and hot (per organisation) wallets, per chain and token (\"native\" is the chain's coin), in whole units; read at most once per METRICS_BALANCE_TTL_SECONDS.",
    labelNames: ["chain", "wallet", "org", "token"] as const,
    registers: [metrics.registry],
    async collect() {
      if (Date.now() - readAt >= options.ttlMs) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          refresh(),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, waitMs);
          }),
        ]);
        clearTimeout(timer);
      }
      this.reset();
      for (const r of readings) this.labels(r.labels).set(r.value);
    },
  });
}
