import { mnemonicToSeedSync } from "@scure/bip39";
import { pino } from "pino";
import { createWalletClient, erc20Abi, http, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, expect, it } from "vitest";
import { assertFollowerState } from "../../chain/follower/apply-follower-event.ts";
import { type Gateway, startGateway } from "../../gateway.ts";
import { loadConfig } from "../../platform/config.ts";
import { type LocalChain, startLocalChain } from "../../sandbox/local-chain.ts";
import { freePort } from "../../testing/cli-process.ts";
import { startTestGateway, TEST_MNEMONIC, type TestGateway } from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { StaleFollowerStateError } from "./chain-ingest-service.ts";

// Scale-out: two gateway processes on one database both watch the same chain. Whatever order
// their events land in, each payment is credited once and the stored window stays a chain.

let chain: LocalChain;
let first: TestGateway;
let second: Gateway;
const secondLog: Array<{ level: number; msg: string; chain?: string }> = [];

beforeAll(async () => {
  chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.3,
    log: createTestLogger(),
  });
  const local = {
    key: "local",
    evmChainId: chain.evmChainId,
    name: "local",
    tokens: [{ symbol: "USDT" as const, address: chain.tokenAddress, decimals: 6 }],
    rpcUrls: [chain.rpcUrl],
    confirmations: 2,
    pollingIntervalMs: 50,
  };
  first = await startTestGateway({ extraChains: [local] });
  second = await startGateway({
    config: loadConfig({}, { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "silent" }),
    log: pino({ level: "info" }, { write: (line: string) => secondLog.push(JSON.parse(line)) }),
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    database: first.database,
    extraChains: [local],
  });
});

afterAll(async () => {
  await second?.stop();
  await first?.close();
  await chain?.stop();
});

it("credits each payment once when two gateways watch the same chain", async () => {
  const tenant = await first.createTenant({ chain: "local" });
  const ids: string[] = [];
  const addresses: `0x${string}`[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${first.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
      body: JSON.stringify({ fiat_amount: "2", fiat_currency: "USD" }),
    });
    const body = (await res.json()) as {
      data: { payment_intent_id: string; payment_address: `0x${string}` };
    };
    ids.push(body.data.payment_intent_id);
    addresses.push(body.data.payment_address);
  }
  const wallet = createWalletClient({
    account: privateKeyToAccount(chain.payerPrivateKey),
    chain: anvil,
    transport: http(chain.rpcUrl),
  });
  for (const to of addresses) {
    await wallet.writeContract({
      address: chain.tokenAddress,
      abi: erc20Abi,
      functionName: "transfer",
      args: [to, parseUnits("2", 6)],
    });
  }
  const statuses = () =>
    Promise.all(
      ids.map(async (id) => {
        const res = await fetch(`${second.url}/v1/studio/api/payment/intent/${id}`, {
          headers: { "X-STUDIO-API-KEY": tenant.apiKey },
        });
        return ((await res.json()) as { data: { status: string } }).data.status;
      }),
    );
  await expect.poll(statuses, { timeout: 20_000 }).toEqual(["success", "success", "success"]);
  const db = first.database.db;
  const transfers = await db
    .selectFrom("transfers")
    .select(["payment_intent_id", "amount", "state"])
    .where("payment_intent_id", "in", ids)
    .execute();
  expect(transfers).toHaveLength(3);
  expect(transfers.every((t) => t.state === "confirmed" && t.amount === "2000000")).toBe(true);
  const intents = await db
    .selectFrom("payment_intents")
    .select(["received_amount"])
    .where("id", "in", ids)
    .execute();
  expect(intents.map((i) => i.received_amount)).toEqual(["2000000", "2000000", "2000000"]);
  const history = await db
    .selectFrom("payment_intent_status_history")
    .select("payment_intent_id")
    .where("payment_intent_id", "in", ids)
    .where("to_status", "=", "success")
    .execute();
  expect(history).toHaveLength(3);
  assertFollowerState("local", await first.services.ingest.loadState("local"));
});

it("refuses an event from a follower whose view of the stored window is out of date", async () => {
  const { ingest } = first.services;
  const stored = await ingest.loadState("local");
  const tip = stored.window.at(-1) ?? stored.finalized;
  if (!tip) throw new Error("the watcher has stored no block yet");
  const behind = { window: [], finalized: { ...tip, number: tip.number - 5n } };
  const next = {
    number: tip.number + 1n,
    hash: `0x${"ab".repeat(32)}` as const,
    parentHash: tip.hash,
    timestamp: tip.timestamp + 1n,
  };
  await expect(
    ingest.apply("local", { type: "block", block: next, logs: [] }, behind),
  ).rejects.toThrow(StaleFollowerStateError);
  const after = await first.database.db
    .selectFrom("chain_blocks")
    .select("hash")
    .where("chain_id", "=", "local")
    .where("hash", "=", next.hash)
    .execute();
  expect(after).toEqual([]);
});

it("restarts a follower that lost the race to the other gateway at once, without an error", async () => {
  // Both gateways follow the same blocks, so one of them regularly finds the stored window moved.
  const stale = () =>
    secondLog.filter((l) => l.msg.startsWith("another process advanced this chain"));
  await expect.poll(() => stale().length, { timeout: 15_000 }).toBeGreaterThan(0);
  expect(stale().every((l) => l.level === 30 && l.chain === "local")).toBe(true);
  expect(secondLog.filter((l) => l.level >= 50)).toEqual([]);
});
