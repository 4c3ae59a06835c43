import { setTimeout } from "node:timers/promises";
import { mnemonicToSeedSync } from "@scure/bip39";
import { depositSweeperAbi } from "@stablegate/contracts";
import { type Address, createTestClient, erc20Abi, getAddress, type Hex, parseEther } from "viem";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createWallets } from "../chain/wallets.ts";
import { startCallbackReceiver } from "../testing/callback-receiver.ts";
import { chainOn, followed, pay, units, WAIT } from "../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../testing/manual-chain.ts";
import {
  type RestartableGateway,
  startRestartableGateway,
} from "../testing/restartable-gateway.ts";
import { TEST_MNEMONIC, type TestTenant } from "../testing/test-gateway.ts";
import { testTransport } from "../testing/test-transport.ts";

// A sweep batch whose block a reorganisation replaces before its confirmations: the transaction
// manager sends the type-4 transaction again, and each refund in it is paid once, settled
// once and called back once, with the hash of the transaction that stayed. Anvil mined by hand
// (anvil_reorg), the real gateway with three confirmations, and the merchant's HTTP API.

const PASSPHRASE = "sweep-reorg";
const KEY = "sweepreorg";
let m: ManualChain;
let gw: RestartableGateway;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let tenant: TestTenant;

beforeAll(async () => {
  m = await startManualChain();
  // Empty blocks, so the reorg below stays clear of the blocks that deployed the token.
  await m.mine(10);
  const wallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC, PASSPHRASE));
  await createTestClient({
    mode: "anvil",
    chain: anvil,
    transport: testTransport(m.chain.rpcUrl),
  }).setBalance({ address: wallets.gasWallet().address, value: parseEther("100") });
  receiver = await startCallbackReceiver();
  gw = await startRestartableGateway({
    seedPassphrase: PASSPHRASE,
    extraChains: [chainOn(m, KEY, { confirmations: 3, gasStrategy: "eip7702" })],
    settleIntervalMs: 100,
    env: {
      PAYMENT_TTL_SECONDS: "600",
      // Both refunds in one batch, whenever the second one is asked for.
      SWEEP_BATCH_SIZE: "2",
      SWEEP_MAX_WAIT_MS: "600000",
      TREASURY_INTERVAL_MS: "100",
      CALLBACK_ALLOWED_NETWORKS: "127.0.0.1/32",
    },
  });
  tenant = await gw.createTenant({ chain: KEY });
});

afterAll(async () => {
  await gw?.close();
  await receiver?.close();
  await m?.stop();
});

/** Mines a block every 100 ms (a slow chain) until `until` holds; returns what it returned. */
async function mineUntil<T>(what: string, until: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const done = await until();
    if (done !== undefined) return done;
    if (Date.now() > deadline) throw new Error(`timed out mining until ${what}`);
    await m.mine();
    await setTimeout(100);
  }
}

const batchTx = () =>
  gw.database.db
    .selectFrom("chain_txs")
    .select(["id", "state", "tx_hash", "block_number", "block_hash"])
    .where("purpose", "=", "sweep_batch")
    .execute();

it("a reorganisation drops a mined sweep batch: it is sent again and each refund is paid once", async () => {
  const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
  const api = `${gw.url}/v1/studio/api/payment/intent`;
  const intents: Array<{ payment_intent_id: string; payment_address: Address }> = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(api, {
      method: "POST",
      headers,
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD", callback_url: receiver.url }),
    });
    expect(res.status).toBe(200);
    intents.push(((await res.json()) as any).data);
  }
  for (const it of intents) await pay(m, it.payment_address, "10");
  await m.mine(2);
  await followed(gw, KEY, m);
  for (const it of intents)
    await vi.waitFor(async () => {
      const res = await fetch(`${api}/${it.payment_intent_id}`, { headers });
      const status = ((await res.json()) as any).data.status;
      if (status !== "success") throw new Error(`status ${status}`);
    }, WAIT);

  // The merchant refunds 4 of each; the batcher deploys its sweeper first, then sends one batch.
  const payerBefore = await balance(m.chain.payerAddress);
  const refunds: string[] = [];
  for (const it of intents) {
    const res = await fetch(`${api}/${it.payment_intent_id}/refund`, {
      method: "POST",
      headers: { ...headers, "Idempotency-Key": `reorg-${it.payment_intent_id}` },
      body: JSON.stringify({ amount: "4" }),
    });
    expect(res.status).toBe(200);
    refunds.push(((await res.json()) as any).data.refund_id);
  }
  // A block mined while the manager broadcast it may already hold it.
  const sent = await mineUntil("the batch is sent", async () => {
    const [tx] = await batchTx();
    return tx?.state === "broadcast" || tx?.state === "mined" ? tx : undefined;
  });
  if (sent.state === "broadcast") await m.mine();
  // Seen mined by the transaction manager; at 3 confirmations not final before a third block.
  const mined = await vi.waitFor(async () => {
    const [tx] = await batchTx();
    if (tx?.state !== "mined") throw new Error(`batch ${tx?.state}`);
    return tx;
  }, WAIT);
  const reorged = await m.publicClient.getTransactionReceipt({ hash: sent.tx_hash as Hex });
  expect(reorged.blockHash).toBe(mined.block_hash);

  // The blocks from the batch's up replaced by empty ones, on a node that forgets the batch
  // (anvil would put it back in its mempool by itself): only the gateway can send it again.
  await m.reorg(Number((await m.head()) - BigInt(mined.block_number as string | number)) + 1);
  await m.publicClient.request({ method: "anvil_dropAllTransactions" } as never);
  expect(
    await m.publicClient.getTransactionReceipt({ hash: sent.tx_hash as Hex }).catch(() => null),
  ).toBeNull();
  const sweeps = () =>
    gw.database.db.selectFrom("sweeps").select(["state", "amount", "result"]).execute();
  expect((await sweeps()).map((s) => s.state)).not.toContain("confirmed");

  // Sent again and confirmed; each refund settled once, by the transaction that stayed.
  const final = await mineUntil("the batch is confirmed", async () => {
    const [tx] = await batchTx();
    return tx?.state === "confirmed" ? tx : undefined;
  });
  // The same bytes, unless the manager's resend raced the node's forgetting it and a
  // replacement went out: either way one of this batch's own attempts, and one batch.
  const attempts = await gw.database.db
    .selectFrom("chain_tx_attempts")
    .select("tx_hash")
    .where("chain_tx_id", "=", final.id)
    .execute();
  expect(attempts.map((a) => a.tx_hash)).toContain(sent.tx_hash);
  expect(attempts.map((a) => a.tx_hash)).toContain(final.tx_hash);
  expect(final.block_hash).not.toBe(mined.block_hash);
  expect(await batchTx()).toHaveLength(1);
  const receipt = await m.publicClient.getTransactionReceipt({ hash: final.tx_hash as Hex });
  expect(receipt.blockHash).toBe(final.block_hash);
  const tx = await m.publicClient.getTransaction({ hash: final.tx_hash as Hex });
  expect(tx.type).toBe("eip7702");
  expect(tx.authorizationList).toHaveLength(2);

  await mineUntil("both refunds are confirmed", async () => {
    for (const [i, it] of intents.entries()) {
      const res = await fetch(`${api}/${it.payment_intent_id}/refunds`, { headers });
      const list = ((await res.json()) as any).data;
      if (list.items.length !== 1 || list.items[0].status !== "confirmed") return undefined;
      expect(list.items[0]).toMatchObject({ refund_id: refunds[i], tx_hash: final.tx_hash });
    }
    return true;
  });
  expect((await sweeps()).map((s) => [s.state, String(s.amount)])).toEqual([
    ["confirmed", units("4").toString()],
    ["confirmed", units("4").toString()],
  ]);

  // On the chain: one SweepResult per address, one transfer out of each, paid once.
  const results = await m.publicClient.getContractEvents({
    abi: depositSweeperAbi,
    eventName: "SweepResult",
    fromBlock: 0n,
  });
  expect(results.map((r) => [r.transactionHash, r.args.ok]).sort()).toEqual([
    [final.tx_hash, true],
    [final.tx_hash, true],
  ]);
  for (const it of intents) {
    const out = await m.publicClient.getContractEvents({
      address: m.chain.tokenAddress,
      abi: erc20Abi,
      eventName: "Transfer",
      args: { from: it.payment_address },
      fromBlock: 0n,
    });
    expect(out.map((l) => [l.args.to, l.args.value, l.transactionHash])).toEqual([
      [getAddress(m.chain.payerAddress), units("4"), final.tx_hash],
    ]);
    expect(await balance(it.payment_address)).toBe(units("6"));
    expect(await m.publicClient.getBalance({ address: it.payment_address })).toBe(0n);
  }
  expect(await balance(m.chain.payerAddress)).toBe(payerBefore + units("8"));

  // The merchant hears of each refund once sent and once confirmed, with the hash that stayed.
  const events = await vi.waitFor(() => {
    const got = receiver.received
      .map((c) => c.body as { event?: string; refund?: { refund_id: string; tx_hash: string } })
      .filter((b) => b.event?.startsWith("refund."));
    if (got.filter((b) => b.event === "refund.confirmed").length < 2)
      throw new Error(`${got.length} refund callbacks`);
    return got;
  }, WAIT);
  expect(events.map((b) => [b.event, b.refund?.refund_id, b.refund?.tx_hash]).sort()).toEqual(
    [
      ["refund.confirmed", refunds[0], final.tx_hash],
      ["refund.confirmed", refunds[1], final.tx_hash],
      ["refund.sent", refunds[0], final.tx_hash],
      ["refund.sent", refunds[1], final.tx_hash],
    ].sort(),
  );
});

function balance(address: Address) {
  return m.publicClient.readContract({
    address: m.chain.tokenAddress,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [address],
  });
}
