import { mnemonicToSeedSync } from "@scure/bip39";
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  erc20Abi,
  getAddress,
  type Hex,
  http,
  parseEther,
  parseEventLogs,
  parseUnits,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { createWallets } from "../chain/wallets.ts";
import { type LocalChain, startLocalChain } from "../sandbox/local-chain.ts";
import { startCallbackReceiver } from "../testing/callback-receiver.ts";
import { freePort } from "../testing/cli-process.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../testing/restartable-gateway.ts";
import { TEST_MNEMONIC, type TestTenant } from "../testing/test-gateway.ts";
import { createTestLogger } from "../testing/test-logger.ts";

// Refunds, collections and gas top-ups end to end: a real anvil mining every 200 ms, the real
// gateway (watcher, lifecycle, transaction manager, treasury worker), and what a merchant and a
// payer can check: the HTTP API, the callbacks and the balances on chain.

interface Intent {
  payment_intent_id: string;
  payment_address: Address;
  payment_deadline: number;
  status: string;
  received_amount: string | null;
  refund_amount: string | null;
  refund_tx_hash: Hex | null;
  aggregated_amount: string | null;
  aggregation_tx_hash: Hex | null;
  late_amount: string | null;
  late_refund_amount: string | null;
  late_refund_tx_hash: Hex | null;
}

const SEED_PASSPHRASE = "treasury";
const TTL_SECONDS = 5;
const CHAIN_KEY = "local";

let chain: LocalChain;
let gw: RestartableGateway;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let publicClient: ReturnType<typeof createPublicClient>;
let payerWallet: ReturnType<typeof createWalletClient>;
const wallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC, SEED_PASSPHRASE));
const units = (amount: string) => parseUnits(amount, 6);

beforeAll(async () => {
  chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.2,
    log: createTestLogger(),
  });
  const transport = http(chain.rpcUrl);
  publicClient = createPublicClient({ chain: anvil, transport, pollingInterval: 50 });
  payerWallet = createWalletClient({
    account: privateKeyToAccount(chain.payerPrivateKey),
    chain: anvil,
    transport,
  });
  // What an operator must do before refunds and collections can move: fund the gas wallet.
  await createTestClient({ mode: "anvil", chain: anvil, transport }).setBalance({
    address: wallets.gasWallet().address,
    value: parseEther("100"),
  });
  receiver = await startCallbackReceiver();
  const local: RegisteredChain = {
    key: CHAIN_KEY,
    evmChainId: chain.evmChainId,
    name: "Anvil",
    tokens: [{ symbol: "USDT", address: chain.tokenAddress, decimals: 6 }],
    rpcUrls: [chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
  };
  gw = await startRestartableGateway({
    seedPassphrase: SEED_PASSPHRASE,
    extraChains: [local],
    env: {
      PAYMENT_TTL_SECONDS: String(TTL_SECONDS),
      TREASURY_INTERVAL_MS: "100",
      CALLBACK_ALLOWED_NETWORKS: "127.0.0.1/32",
    },
    settleIntervalMs: 100,
  });
});

afterAll(async () => {
  await gw?.close();
  await receiver?.close();
  await chain?.stop();
});

const WAIT = { timeout: 30_000, interval: 100 };

async function openShop(o: { treasury?: Address; feeBps?: number } = {}) {
  const tenant: TestTenant = await gw.createTenant({ chain: CHAIN_KEY });
  if (o.treasury) await gw.services.treasurySettings.setTreasury(tenant.orgId, o.treasury);
  if (o.feeBps !== undefined) await gw.services.treasurySettings.setFee(tenant.orgId, o.feeBps);
  const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
  const get = async (id: string) => {
    const res = await fetch(`${gw.url}/v1/studio/api/payment/intent/${id}`, { headers });
    const body = (await res.json()) as { code: number; data: Intent };
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.data;
  };
  return {
    tenant,
    async create(fiatUsd: string): Promise<Intent> {
      const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          fiat_amount: fiatUsd,
          fiat_currency: "USD",
          callback_url: receiver.url,
        }),
      });
      const body = (await res.json()) as { code: number; data: Intent };
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body.data;
    },
    get,
    waitFor(intent: Intent, ok: (d: Intent) => boolean, what: string) {
      return vi.waitFor(async () => {
        const d = await get(intent.payment_intent_id);
        if (ok(d)) return d;
        throw new Error(
          `${intent.payment_intent_id}: waiting for ${what}; last seen: ${JSON.stringify(d)}`,
        );
      }, WAIT);
    },
  };
}

/** The payer sends `amount` test USDT to `to`; resolves once it is mined. */
async function pay(to: Address, amount: string): Promise<Hex> {
  const hash = await payerWallet.writeContract({
    address: chain.tokenAddress,
    abi: erc20Abi,
    functionName: "transfer",
    args: [to, units(amount)],
    account: payerWallet.account ?? null,
    chain: anvil,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  return hash;
}

const tokenBalance = (address: Address) =>
  publicClient.readContract({
    address: chain.tokenAddress,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [address],
  });

/** Every token transfer the deposit address has sent, from the chain itself. */
async function sentFrom(address: Address) {
  const logs = await publicClient.getContractEvents({
    address: chain.tokenAddress,
    abi: erc20Abi,
    eventName: "Transfer",
    args: { from: address },
    fromBlock: 0n,
  });
  return logs.map((l) => ({ to: l.args.to, value: l.args.value, tx: l.transactionHash }));
}

async function transferOf(hash: Hex) {
  const receipt = await publicClient.getTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  return parseEventLogs({ abi: erc20Abi, logs: receipt.logs, eventName: "Transfer" }).map((l) => ({
    from: l.args.from,
    to: l.args.to,
    value: l.args.value,
  }));
}

function history(intent: Intent) {
  return gw.database.db
    .selectFrom("payment_intent_status_history")
    .select(["from_status", "to_status", "cause"])
    .where("payment_intent_id", "=", intent.payment_intent_id)
    .orderBy("id")
    .execute();
}

function topups(deposit: Address) {
  return gw.database.db
    .selectFrom("gas_topups")
    .selectAll()
    .where("deposit_address", "=", deposit)
    .orderBy("id")
    .execute();
}

describe("refunds", () => {
  it("an underpayment goes back to its payer; the intent becomes insufficient_refunded with a callback", async () => {
    const shop = await openShop();
    const intent = await shop.create("10");
    const before = await tokenBalance(chain.payerAddress);
    await pay(intent.payment_address, "3");
    await pay(intent.payment_address, "1");
    expect(await tokenBalance(chain.payerAddress)).toBe(before - units("4"));

    const done = await shop.waitFor(intent, (d) => d.status === "insufficient_refunded", "refund");
    expect(done).toMatchObject({ received_amount: "4", refund_amount: "4" });
    // Both payments came back in full, on chain, from the deposit address; the gas was ours.
    expect(await tokenBalance(chain.payerAddress)).toBe(before);
    expect(await tokenBalance(intent.payment_address)).toBe(0n);
    const sent = await sentFrom(intent.payment_address);
    expect(sent.map((s) => [s.to, s.value])).toEqual([
      [getAddress(chain.payerAddress), units("3")],
      [getAddress(chain.payerAddress), units("1")],
    ]);
    // refund_tx_hash is the last refund.
    expect(done.refund_tx_hash).toBe(sent[1]?.tx);
    expect(await transferOf(done.refund_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: getAddress(chain.payerAddress), value: units("1") },
    ]);

    expect((await history(intent)).map((h) => h.to_status)).toEqual([
      "pending",
      "insufficient_not_refunded",
      "insufficient_refunded",
    ]);
    const callback = await vi.waitFor(() => {
      const found = receiver.received.find(
        (r) =>
          r.body.payment_intent_id === intent.payment_intent_id &&
          r.body.status === "insufficient_refunded",
      );
      if (found) return found;
      throw new Error(`no insufficient_refunded callback among ${receiver.received.length}`);
    }, WAIT);
    expect(callback.body).toMatchObject({
      refund_amount: "4",
      refund_tx_hash: done.refund_tx_hash,
    });

    // Each refund was paid for by a top-up from the gas wallet, and both costs are recorded.
    const paid = await topups(intent.payment_address);
    expect(paid).toHaveLength(2);
    for (const t of paid) {
      expect(BigInt(t.amount)).toBeGreaterThan(0n);
      expect(BigInt(t.topup_cost ?? 0)).toBeGreaterThan(0n);
      expect(BigInt(t.transfer_cost ?? 0)).toBeGreaterThan(0n);
      expect(t.funded_chain_tx_id).not.toBeNull();
    }
  });

  it("a payment after the deadline is refunded and shown as late_refund_amount; the status stays", async () => {
    const shop = await openShop();
    const intent = await shop.create("10");
    await shop.waitFor(intent, (d) => d.status === "expired", "expiry");
    const before = await tokenBalance(chain.payerAddress);
    await pay(intent.payment_address, "2");

    const done = await shop.waitFor(intent, (d) => d.late_refund_amount !== null, "late refund");
    expect(done).toMatchObject({
      status: "expired",
      late_amount: "2",
      late_refund_amount: "2",
      refund_amount: null,
    });
    expect(await tokenBalance(chain.payerAddress)).toBe(before);
    expect(await transferOf(done.late_refund_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: getAddress(chain.payerAddress), value: units("2") },
    ]);
    const rows = await history(intent);
    expect(rows.at(-1)).toMatchObject({ from_status: "expired", to_status: "expired" });
    expect(rows.at(-1)?.cause).toContain(`late payment refunded: 2 USDT`);
  });

  it("a restart after the refund was submitted sends nothing twice", async () => {
    const shop = await openShop();
    const intent = await shop.create("10");
    await pay(intent.payment_address, "1.5");
    const before = await tokenBalance(chain.payerAddress);
    await expect
      .poll(
        async () => {
          const row = await gw.database.db
            .selectFrom("refunds")
            .select("chain_tx_id")
            .where("payment_intent_id", "=", intent.payment_intent_id)
            .executeTakeFirst();
          return row?.chain_tx_id ?? null;
        },
        { ...WAIT, message: "the refund to be submitted" },
      )
      .not.toBeNull();
    await gw.stop();
    // The chain moves on while the gateway is down.
    const down = await publicClient.getBlockNumber({ cacheTime: 0 });
    await expect
      .poll(() => publicClient.getBlockNumber({ cacheTime: 0 }), WAIT)
      .toBeGreaterThanOrEqual(down + 3n);
    await gw.start();

    const done = await shop.waitFor(intent, (d) => d.status === "insufficient_refunded", "refund");
    expect(done.refund_amount).toBe("1.5");
    expect(await tokenBalance(chain.payerAddress)).toBe(before + units("1.5"));
    expect(await sentFrom(intent.payment_address)).toHaveLength(1);
    const txs = await gw.database.db
      .selectFrom("chain_txs")
      .select(["purpose", "idempotency_key"])
      .where("sender", "=", intent.payment_address)
      .execute();
    expect(txs.map((t) => t.purpose)).toEqual(["refund"]);
    expect(await topups(intent.payment_address)).toHaveLength(1);
  });
});

describe("collection into the treasury", () => {
  it("a success is collected: the treasury gets aggregated_amount, the fee address the fee", async () => {
    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    const shop = await openShop({ treasury, feeBps: 100 });
    const feeAddress = wallets.feeWallet().address;
    const feeBefore = await tokenBalance(feeAddress);
    const intent = await shop.create("2.53");
    await pay(intent.payment_address, "2.53");
    await shop.waitFor(intent, (d) => d.status === "success", "success");

    const done = await shop.waitFor(intent, (d) => d.aggregated_amount !== null, "collection");
    expect(done).toMatchObject({ received_amount: "2.53", aggregated_amount: "2.5" });
    expect(await tokenBalance(treasury)).toBe(units("2.5"));
    expect((await tokenBalance(feeAddress)) - feeBefore).toBe(units("0.03"));
    expect(await tokenBalance(intent.payment_address)).toBe(0n);
    expect(await transferOf(done.aggregation_tx_hash as Hex)).toEqual([
      { from: intent.payment_address, to: treasury, value: units("2.5") },
    ]);
    const costs = await topups(intent.payment_address);
    expect(costs).toHaveLength(2);
    expect(costs.every((t) => t.topup_cost !== null && t.transfer_cost !== null)).toBe(true);
  });

  it("an organisation without a treasury is skipped, and collected once it sets one", async () => {
    const shop = await openShop();
    const intent = await shop.create("3");
    await pay(intent.payment_address, "3");
    await shop.waitFor(intent, (d) => d.status === "success", "success");
    const waiting = await vi.waitFor(async () => {
      const row = await gw.database.db
        .selectFrom("collections")
        .select(["state", "error"])
        .where("payment_intent_id", "=", intent.payment_intent_id)
        .executeTakeFirst();
      expect(row?.state, "the collection to wait for a treasury").toBe("waiting_treasury");
      return row;
    }, WAIT);
    expect(waiting?.error).toContain(`org set-treasury ${shop.tenant.orgId}`);
    expect((await shop.get(intent.payment_intent_id)).aggregated_amount).toBeNull();

    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    await gw.services.treasurySettings.setTreasury(shop.tenant.orgId, treasury.toLowerCase());
    const done = await shop.waitFor(intent, (d) => d.aggregated_amount !== null, "collection");
    expect(done.aggregated_amount).toBe("3");
    expect(await tokenBalance(treasury)).toBe(units("3"));
  });
});

describe("an operator who has not funded the gas wallet", () => {
  let empty: RestartableGateway;
  const emptyWallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC, "treasury-empty"));
  beforeAll(async () => {
    empty = await startRestartableGateway({
      seedPassphrase: "treasury-empty",
      extraChains: [
        {
          key: CHAIN_KEY,
          evmChainId: chain.evmChainId,
          name: "Anvil",
          tokens: [{ symbol: "USDT", address: chain.tokenAddress, decimals: 6 }],
          rpcUrls: [chain.rpcUrl],
          confirmations: 1,
          pollingIntervalMs: 100,
        },
      ],
      env: { PAYMENT_TTL_SECONDS: String(TTL_SECONDS), TREASURY_INTERVAL_MS: "100" },
      settleIntervalMs: 100,
    });
  });
  afterAll(() => empty?.close());

  it("gets a readable reason, nothing is sent, and the refund goes out once it is funded", async () => {
    const tenant = await empty.createTenant({ chain: CHAIN_KEY });
    const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
    const res = await fetch(`${empty.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers,
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
    });
    const intent = ((await res.json()) as { data: Intent }).data;
    await pay(intent.payment_address, "1");
    const reason = await vi.waitFor(async () => {
      const row = await empty.database.db
        .selectFrom("treasury_work")
        .select("last_error")
        .where("payment_intent_id", "=", intent.payment_intent_id)
        .executeTakeFirst();
      if (row?.last_error) return row.last_error;
      throw new Error(`the treasury has not reported the empty gas wallet: ${JSON.stringify(row)}`);
    }, WAIT);
    expect(reason).toContain(`gas wallet ${emptyWallets.gasWallet().address} holds 0 native coin`);
    expect(reason).toContain("fund the gas wallet");
    expect(await empty.database.db.selectFrom("chain_txs").select("id").execute()).toEqual([]);

    await createTestClient({
      mode: "anvil",
      chain: anvil,
      transport: http(chain.rpcUrl),
    }).setBalance({ address: emptyWallets.gasWallet().address, value: parseEther("1") });
    await expect
      .poll(
        async () => {
          const r = await fetch(
            `${empty.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}`,
            { headers },
          );
          return ((await r.json()) as { data: Intent }).data.status;
        },
        { ...WAIT, message: "the refund after funding" },
      )
      .toBe("insufficient_refunded");
    expect(await sentFrom(intent.payment_address)).toHaveLength(1);
  });
});
