import { mnemonicToSeedSync } from "@scure/bip39";
import { pino } from "pino";
import { createWalletClient, erc20Abi, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, expect, it } from "vitest";
import { assertFollowerState } from "../../chain/follower/apply-follower-event.ts";
import { type Gateway, startGateway } from "../../gateway.ts";
import { loadConfig } from "../../platform/config.ts";
import type { DatabaseHandle } from "../../platform/database/create-database.ts";
import { createLeases, LeaseLostError } from "../../platform/lease.ts";
import { type LocalChain, startLocalChain } from "../../sandbox/local-chain.ts";
import { freePort } from "../../testing/cli-process.ts";
import { createTestDatabase } from "../../testing/test-database.ts";
import {
  createTestTenant,
  startTestGateway,
  TEST_MNEMONIC,
  type TestGateway,
} from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { testTransport } from "../../testing/test-transport.ts";
import { StaleFollowerStateError } from "./chain-ingest-service.ts";

// Scale-out: two gateway processes on one database, one chain. Only the holder of the chain's
// lease follows it; the other stands by quietly and takes over when the leader stops. Whatever
// order events land in, each payment is credited once and the stored window stays a chain.

let chain: LocalChain;
let database: DatabaseHandle;
let first: TestGateway;
let second: Gateway;
const secondLog: Array<{ level: number; msg: string; chain?: string; lease?: string }> = [];
let firstStopped = false;

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
  database = await createTestDatabase();
  // The first to start takes the chain's lease; the second stands by.
  first = await startTestGateway({ extraChains: [local], database });
  second = await startGateway({
    config: loadConfig({}, { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "silent" }),
    log: pino({ level: "info" }, { write: (line: string) => secondLog.push(JSON.parse(line)) }),
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    database,
    extraChains: [local],
  });
});

afterAll(async () => {
  await second?.stop();
  if (!firstStopped) await first?.close();
  await database?.close();
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
    transport: testTransport(chain.rpcUrl),
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
  await expect.poll(statuses, { timeout: 60_000 }).toEqual(["success", "success", "success"]);
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

it("refuses an event from a follower whose lease was taken over, writing nothing", async () => {
  const { ingest } = first.services;
  const log = createTestLogger();
  const deposed = createLeases({ db: database.db, log, renewMs: 60_000 });
  const successor = createLeases({ db: database.db, log });
  try {
    const lease = await deposed.claim("chain:ghost");
    if (!lease) throw new Error("no lease");
    await database.db
      .updateTable("leases")
      .set({ until: new Date(0) })
      .where("name", "=", "chain:ghost")
      .execute();
    expect(await successor.claim("chain:ghost")).toBeDefined();
    const block = {
      number: 1n,
      hash: `0x${"cd".repeat(32)}` as const,
      parentHash: `0x${"00".repeat(32)}` as const,
      timestamp: 1n,
    };
    const empty = { window: [], finalized: undefined };
    await expect(
      ingest.apply("ghost", { type: "block", block, logs: [] }, empty, lease),
    ).rejects.toThrow(LeaseLostError);
    expect(await ingest.loadState("ghost")).toEqual(empty);
  } finally {
    await deposed.stop();
    await successor.stop();
  }
});

it("lets only the leader follow: the other gateway stands by without warnings or rebuilds", async () => {
  expect(first.services.leases.held().map((l) => l.name)).toContain("chain:local");
  expect(second.services.leases.held().map((l) => l.name)).not.toContain("chain:local");
  // Blocks keep coming (0.3 s each); the leader follows them while the other waits its turn.
  const tip = async () => {
    const s = await first.services.ingest.loadState("local");
    return (s.window.at(-1) ?? s.finalized)?.number ?? 0n;
  };
  const from = await tip();
  await expect.poll(tip, { timeout: 60_000 }).toBeGreaterThan(from + 10n);
  expect(secondLog.filter((l) => l.msg.startsWith("another process advanced"))).toEqual([]);
  expect(secondLog.filter((l) => l.level >= 40)).toEqual([]);
  const ready = await fetch(`${second.url}/readyz`);
  // The standby runs no follower for the chain; it judges it from what the leader stored.
  expect(await ready.json()).toEqual({
    status: "ready",
    role: "all",
    leases: expect.any(Array),
    chains: [expect.objectContaining({ chain: "local", ready: true })],
  });
  expect(second.watchers?.status()).toEqual([
    expect.objectContaining({ chain: "local", following: false, head: null }),
  ]);
});

it("hands the chain over at once when the leader stops, and the new leader detects payments", async () => {
  const started = Date.now();
  await first.stop();
  firstStopped = true;
  await expect
    .poll(() => second.services.leases.held().map((l) => l.name), { timeout: 60_000 })
    .toContain("chain:local");
  const handover = Date.now() - started;
  expect(secondLog.some((l) => l.msg === "took a lease" && l.lease === "chain:local")).toBe(true);
  const tenant = await createTestTenant(second.services.tenancy, { chain: "local" });
  const res = await fetch(`${second.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
    body: JSON.stringify({ fiat_amount: "2", fiat_currency: "USD" }),
  });
  const intent = (
    (await res.json()) as { data: { payment_intent_id: string; payment_address: `0x${string}` } }
  ).data;
  await createWalletClient({
    account: privateKeyToAccount(chain.payerPrivateKey),
    chain: anvil,
    transport: testTransport(chain.rpcUrl),
  }).writeContract({
    address: chain.tokenAddress,
    abi: erc20Abi,
    functionName: "transfer",
    args: [intent.payment_address, parseUnits("2", 6)],
  });
  await expect
    .poll(
      async () => {
        const r = await fetch(
          `${second.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}`,
          {
            headers: { "X-STUDIO-API-KEY": tenant.apiKey },
          },
        );
        return ((await r.json()) as { data: { status: string } }).data.status;
      },
      { timeout: 60_000 },
    )
    .toBe("success");
  // A clean stop releases the lease: the standby's next try (LEASE_RENEW_MS) takes it.
  expect(handover).toBeLessThan(5000);
});
