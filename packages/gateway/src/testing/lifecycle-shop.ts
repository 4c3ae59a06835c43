import { setTimeout } from "node:timers/promises";
import { type Address, type Hex, parseUnits } from "viem";
import { expect, vi } from "vitest";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import type { ManualChain } from "./manual-chain.ts";
import type { RestartableGateway } from "./restartable-gateway.ts";
import type { TestTenant } from "./test-gateway.ts";

// What the payment lifecycle tests share: a merchant's view of a gateway (the HTTP API), paying
// on an anvil chain mined by hand, and waits for the events a test depends on.

export interface Intent {
  payment_intent_id: string;
  payment_chain_id: string;
  payment_address: Address;
  token_address: Address;
  crypto_amount: string;
  payment_deadline: number;
  status: string;
  payment_tx_hash: string | null;
  received_amount: string | null;
  payer_address: string | null;
  payment_tx_timestamp: number | null;
  excess_amount: string | null;
  late_amount: string | null;
}

export interface Mined {
  hash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  /** Unix seconds. */
  timestamp: number;
}

export const POLL_MS = 50;

/** `m` under the chain key `key`, as a gateway registers it. */
export function chainOn(
  m: Pick<ManualChain, "chain">,
  key: string,
  extra: Partial<RegisteredChain>,
): RegisteredChain {
  return {
    key,
    evmChainId: m.chain.evmChainId,
    name: `Anvil (${key})`,
    tokens: [{ symbol: "USDT", address: m.chain.tokenAddress, decimals: 6 }],
    rpcUrls: [m.chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: POLL_MS,
    ...extra,
  };
}

export const units = (amount: string) => parseUnits(amount, 6);

export const WAIT = { timeout: 60_000, interval: POLL_MS };

/** A merchant on one gateway whose organisation is paid on `chainKey`. */
export interface Shop {
  chainKey: string;
  create(fiatUsd?: string): Promise<Intent>;
  get(id: string): Promise<Intent>;
  waitFor(intent: Intent, ok: (d: Intent) => boolean, what: string): Promise<Intent>;
}

export async function openShop(gw: RestartableGateway, chainKey: string): Promise<Shop> {
  const tenant: TestTenant = await gw.createTenant({ chain: chainKey });
  const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
  const read = async (id: string) => {
    const res = await fetch(`${gw.url}/v1/studio/api/payment/intent/${id}`, { headers });
    return { status: res.status, body: (await res.json()) as { code: number; data?: Intent } };
  };
  return {
    chainKey,
    async create(fiatUsd = "10") {
      const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
        method: "POST",
        headers,
        body: JSON.stringify({ fiat_amount: fiatUsd, fiat_currency: "USD" }),
      });
      const body = (await res.json()) as { code: number; data: Intent };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.data).toMatchObject({ status: "pending", payment_chain_id: chainKey });
      return body.data;
    },
    async get(id) {
      const r = await read(id);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.data as Intent;
    },
    waitFor(intent, ok, what) {
      return vi.waitFor(async () => {
        const r = await read(intent.payment_intent_id);
        const d = r.body.data;
        if (d && ok(d)) return d;
        throw new Error(
          `intent ${intent.payment_intent_id} on ${chainKey}: waiting for ${what}; last seen: ${JSON.stringify(r.body)}`,
        );
      }, WAIT);
    },
  };
}

/** Mines the next block and describes the block that includes `hash`. */
export async function mineIncluding(m: ManualChain, hash: Hex): Promise<Mined> {
  await m.mine();
  return included(m, hash);
}

export async function included(m: ManualChain, hash: Hex): Promise<Mined> {
  const receipt = await m.publicClient.getTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  const block = await m.publicClient.getBlock({ blockHash: receipt.blockHash });
  return {
    hash,
    blockNumber: block.number,
    blockHash: block.hash,
    timestamp: Number(block.timestamp),
  };
}

/** The sandbox payer sends `amount` USDT to `to` in a block of its own. */
export async function pay(m: ManualChain, to: Address, amount: string): Promise<Mined> {
  return mineIncluding(m, await m.transfer({ to, value: units(amount) }));
}

/** Waits until the gateway's watcher for `chainKey` has processed the chain's current head. */
export async function followed(
  gw: Pick<RestartableGateway, "database">,
  chainKey: string,
  m: ManualChain,
): Promise<void> {
  const head = await m.publicClient.getBlock({ blockTag: "latest" });
  await expect
    .poll(
      async () => {
        const rows = await gw.database.db
          .selectFrom("chain_blocks")
          .select(["number", "hash"])
          .where("chain_id", "=", chainKey)
          .where("hash", "=", head.hash)
          .execute();
        return rows.some((r) => BigInt(r.number) === head.number);
      },
      {
        ...WAIT,
        message: `the ${chainKey} watcher to process block ${head.number} (${head.hash})`,
      },
    )
    .toBe(true);
}

/**
 * Waits until `gw` has completed two deadline sweeps after this call, so at least one of them
 * started after it: what a sweep would do at this moment has been done.
 */
export async function swept(gw: RestartableGateway): Promise<void> {
  const { lifecycle } = gw.services;
  const before = lifecycle.sweeps;
  await expect
    .poll(() => lifecycle.sweeps, { ...WAIT, message: "two deadline sweeps" })
    .toBeGreaterThanOrEqual(before + 2);
}

export function transfersTo(gw: RestartableGateway, intent: Intent) {
  return gw.database.db
    .selectFrom("transfers")
    .select(["tx_hash", "log_index", "amount", "block_number", "block_hash", "state"])
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .orderBy("block_number")
    .orderBy("log_index")
    .execute()
    .then((rows) =>
      rows.map((r) => ({ ...r, amount: BigInt(r.amount), block_number: BigInt(r.block_number) })),
    );
}

export function history(gw: RestartableGateway, intent: Intent) {
  return gw.database.db
    .selectFrom("payment_intent_status_history")
    .select(["from_status", "to_status", "cause"])
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .orderBy("id")
    .execute();
}

/** Waits for the wall clock to reach `seconds` (a deadline passing is the event itself). */
export const waitUntilUnixSeconds = (seconds: number) =>
  setTimeout(Math.max(0, seconds * 1000 - Date.now()));

/** Lets the wall clock pass the deadline, then mines a block after it, as a live chain would. */
export async function passDeadlineOnChain(m: ManualChain, intent: Intent): Promise<void> {
  await waitUntilUnixSeconds(intent.payment_deadline + 1);
  // Pinned: evm_setNextBlockTimestamp in another test leaves anvil's clock a little behind.
  const latest = await m.publicClient.getBlock({ blockTag: "latest" });
  if (latest.timestamp <= BigInt(intent.payment_deadline)) {
    await m.publicClient.request({
      method: "evm_setNextBlockTimestamp" as never,
      params: [intent.payment_deadline + 1] as never,
    });
  }
  await m.mine();
}
