import { z } from "@hono/zod-openapi";
import { type Kysely, sql } from "kysely";
import { type Address, formatUnits, type PublicClient } from "viem";
import type { ChainRegistry } from "../../chain/chain-registry.ts";
import type { Wallets } from "../../chain/wallets.ts";
import { formatTokenAmount } from "../../payments/money.ts";
import { tokenBalanceOf } from "../../payouts/erc20.ts";
import type { Database } from "../../platform/database/schema.ts";
import type { CallbackAdmin } from "./callback-admin.ts";

const Iso = z.string().openapi({ description: "ISO 8601" });

export const Overview = z
  .object({
    volume_per_day: z.array(
      z.object({
        day: z.string().openapi({ example: "2026-11-27" }),
        symbol: z.string(),
        amount: z.string(),
        count: z.number().int(),
      }),
    ),
    by_status: z.object({
      pending: z.number().int(),
      success: z.number().int(),
      expired: z.number().int(),
      insufficient_not_refunded: z.number().int(),
      insufficient_refunded: z.number().int(),
    }),
    success_rate: z.number().nullable().openapi({
      description: "success / decided intents created in the window; null when none is decided.",
    }),
    open_intents: z.number().int(),
    pending_refunds: z.number().int(),
    pending_collections: z.number().int(),
    balances: z.array(
      z.object({
        chain_id: z.string(),
        symbol: z.string(),
        kind: z.enum(["hot", "treasury"]),
        address: z.string(),
        amount: z.string().nullable().openapi({ description: "null: the chain did not answer" }),
      }),
    ),
    alerts: z.array(
      z.object({
        kind: z.enum(["callback_failing", "transfer_stuck", "gas_low", "payment_reversed"]),
        message: z.string(),
        since: Iso,
        link: z.string().optional(),
      }),
    ),
  })
  .openapi("AdminOverview");
export type Overview = z.infer<typeof Overview>;

/** An outgoing transaction not mined this long after it was made counts as stuck. */
const STUCK_AFTER_MS = 15 * 60_000;
/** How long the overview waits for a chain's balances before showing them as unknown. */
const BALANCE_TIMEOUT_MS = 3000;

/** The organisation at a glance: received volume, outcomes, work in flight, balances, alerts. */
export function createOverview(deps: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  wallets: Wallets;
  client: (chainKey: string) => PublicClient;
  callbacks: CallbackAdmin;
  now?: () => Date;
}) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function balances(orgId: number): Promise<Overview["balances"]> {
    const org = await db
      .selectFrom("organizations")
      .select("treasury_address")
      .where("id", "=", orgId)
      .executeTakeFirstOrThrow();
    const owners: { kind: "hot" | "treasury"; address: Address }[] = [
      { kind: "hot", address: deps.wallets.hotWallet(orgId).address },
    ];
    if (org.treasury_address) {
      owners.push({ kind: "treasury", address: org.treasury_address as Address });
    }
    const chains = deps.chains.list().filter((c) => c.rpcUrls.length > 0);
    const rows = await Promise.all(
      chains.flatMap((chain) =>
        chain.tokens.flatMap((token) =>
          owners.map(async (owner) => {
            let amount: string | null = null;
            let timer: NodeJS.Timeout | undefined;
            try {
              const raw = await Promise.race([
                tokenBalanceOf(deps.client(chain.key), token.address as Address, owner.address),
                new Promise<never>((_, reject) => {
                  timer = setTimeout(() => reject(new Error("timeout")), BALANCE_TIMEOUT_MS);
                }),
              ]);
              amount = formatUnits(raw, token.decimals);
            } catch {
              // Shown as unknown; /metrics and the operator's health page say why.
            } finally {
              clearTimeout(timer);
            }
            return {
              chain_id: chain.key,
              symbol: token.symbol,
              kind: owner.kind,
              address: owner.address,
              amount,
            };
          }),
        ),
      ),
    );
    return rows;
  }

  async function alerts(orgId: number): Promise<Overview["alerts"]> {
    const out: Overview["alerts"] = [];
    for (const e of await deps.callbacks.failingEndpoints(orgId)) {
      out.push({
        kind: "callback_failing",
        message: `callbacks to ${e.host} are failing (${e.failures}): ${e.last_error ?? "no answer"}`,
        since: e.failing_since,
        link: "callbacks",
      });
    }
    const stuckBefore = new Date(now().getTime() - STUCK_AFTER_MS);
    const { rows: stuck } = await sql<{ purpose: string; tx_hash: string; created_at: Date }>`
      select t.purpose, t.tx_hash, t.created_at from chain_txs t
      where t.state in ('signed', 'broadcast') and t.created_at < ${stuckBefore}
        and (t.id in (select r.chain_tx_id from refunds r join payment_intents i on i.id = r.payment_intent_id where i.org_id = ${orgId})
          or t.id in (select c.chain_tx_id from collections c join payment_intents i on i.id = c.payment_intent_id where i.org_id = ${orgId})
          or t.id in (select p.chain_tx_id from payouts p where p.org_id = ${orgId}))
      order by t.created_at limit 20`.execute(db);
    for (const t of stuck) {
      out.push({
        kind: "transfer_stuck",
        message: `a ${t.purpose} transaction (${t.tx_hash}) has not been mined`,
        since: new Date(t.created_at).toISOString(),
      });
    }
    const reversed = await db
      .selectFrom("payment_intents")
      .select(["id", "reversed_at", "reversal_reason"])
      .where("org_id", "=", orgId)
      .where("reversed_at", "is not", null)
      .orderBy("reversed_at", "desc")
      .limit(20)
      .execute();
    for (const r of reversed) {
      out.push({
        kind: "payment_reversed",
        message:
          `payment ${r.id} was reversed by a chain reorganisation: ${r.reversal_reason ?? ""}`.trim(),
        since: (r.reversed_at as Date).toISOString(),
        link: `payments/${r.id}`,
      });
    }
    return out;
  }

  async function gasAlerts(b: Overview["balances"]): Promise<Overview["alerts"]> {
    // The hot wallet pays gas for withdrawals: no native coin on a chain where it holds tokens.
    const out: Overview["alerts"] = [];
    const holding = new Set(
      b
        .filter((x) => x.kind === "hot" && x.amount !== null && Number(x.amount) > 0)
        .map((x) => x.chain_id),
    );
    for (const chainId of holding) {
      const address = b.find((x) => x.kind === "hot")?.address as Address;
      try {
        const native = await deps.client(chainId).getBalance({ address });
        if (native === 0n) {
          out.push({
            kind: "gas_low",
            message: `the hot wallet ${address} has no native coin on ${chainId} to pay for withdrawals`,
            since: now().toISOString(),
            link: "treasury",
          });
        }
      } catch {}
    }
    return out;
  }

  return {
    async read(orgId: number, days: number): Promise<Overview> {
      const since = new Date(now().getTime() - days * 86_400_000);
      const [volume, statuses, open, refunds, collections, balanceRows, alertRows] =
        await Promise.all([
          sql<{ day: string; symbol: string; decimals: number; amount: string; count: string }>`
            select to_char(coalesce(payment_tx_timestamp, updated_at) at time zone 'UTC', 'YYYY-MM-DD') as day,
              symbol, decimals, sum(coalesce(received_amount, 0) - coalesce(excess_amount, 0))::text as amount,
              count(*) as count
            from payment_intents
            where org_id = ${orgId} and status = 'success' and created_at >= ${since}
            group by 1, 2, 3 order by 1, 2`.execute(db),
          db
            .selectFrom("payment_intents")
            .select(["status", (eb) => eb.fn.countAll<string>().as("n")])
            .where("org_id", "=", orgId)
            .where("created_at", ">=", since)
            .groupBy("status")
            .execute(),
          db
            .selectFrom("payment_intents")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("org_id", "=", orgId)
            .where("status", "=", "pending")
            .executeTakeFirstOrThrow(),
          db
            .selectFrom("refunds as r")
            .innerJoin("payment_intents as i", "i.id", "r.payment_intent_id")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("i.org_id", "=", orgId)
            .where("r.state", "in", ["pending", "submitted"])
            .executeTakeFirstOrThrow(),
          db
            .selectFrom("collections as c")
            .innerJoin("payment_intents as i", "i.id", "c.payment_intent_id")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("i.org_id", "=", orgId)
            .where("c.state", "in", ["waiting_treasury", "pending", "submitted"])
            .executeTakeFirstOrThrow(),
          balances(orgId),
          alerts(orgId),
        ]);
      const by_status = {
        pending: 0,
        success: 0,
        expired: 0,
        insufficient_not_refunded: 0,
        insufficient_refunded: 0,
      };
      for (const s of statuses) by_status[s.status] = Number(s.n);
      const decided =
        by_status.success +
        by_status.expired +
        by_status.insufficient_not_refunded +
        by_status.insufficient_refunded;
      return {
        volume_per_day: mergeDecimals(volume.rows),
        by_status,
        success_rate: decided === 0 ? null : by_status.success / decided,
        open_intents: Number(open.n),
        pending_refunds: Number(refunds.n),
        pending_collections: Number(collections.n),
        balances: balanceRows,
        alerts: [...alertRows, ...(await gasAlerts(balanceRows))],
      };
    },
  };
}

export type OverviewService = ReturnType<typeof createOverview>;

/** One row per day and symbol: a token with other decimals on another chain (BSC's USDT) joins it. */
function mergeDecimals(
  rows: { day: string; symbol: string; decimals: number; amount: string; count: string }[],
): Overview["volume_per_day"] {
  const merged = new Map<
    string,
    { day: string; symbol: string; base: bigint; decimals: number; count: number }
  >();
  for (const r of rows) {
    const key = `${r.day} ${r.symbol}`;
    const m = merged.get(key) ?? {
      day: r.day,
      symbol: r.symbol,
      base: 0n,
      decimals: r.decimals,
      count: 0,
    };
    const decimals = Math.max(m.decimals, r.decimals);
    m.base =
      m.base * 10n ** BigInt(decimals - m.decimals) +
      BigInt(r.amount) * 10n ** BigInt(decimals - r.decimals);
    m.decimals = decimals;
    m.count += Number(r.count);
    merged.set(key, m);
  }
  return [...merged.values()].map((m) => ({
    day: m.day,
    symbol: m.symbol,
    amount: formatTokenAmount(m.base, m.decimals),
    count: m.count,
  }));
}
