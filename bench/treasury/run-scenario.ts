import { setTimeout as sleep } from "node:timers/promises";
import { mnemonicToSeedSync } from "@scure/bip39";
import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import {
  type Address,
  createPublicClient,
  createTestClient,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  parseEther,
  parseUnits,
} from "viem";
import { anvil } from "viem/chains";
import type { RegisteredChain } from "../../packages/gateway/src/chain/chain-registry.ts";
import type { GasStrategy } from "../../packages/gateway/src/chain/known-chains.ts";
import { createWallets } from "../../packages/gateway/src/chain/wallets.ts";
import { startGateway } from "../../packages/gateway/src/gateway.ts";
import type { Database } from "../../packages/gateway/src/platform/database/schema.ts";
import { startLocalChain } from "../../packages/gateway/src/sandbox/local-chain.ts";
import { freePort } from "../../packages/gateway/src/testing/cli-process.ts";
import {
  createTestTenant,
  TEST_MNEMONIC,
} from "../../packages/gateway/src/testing/test-gateway.ts";
import { openBenchDatabase } from "../bench-database.ts";
import { benchGatewayConfig } from "../bench-gateway-config.ts";
import { createPayer } from "../lifecycle/payer.ts";
import type { AddCleanup } from "../run-with-cleanups.ts";

const CHAIN_KEY = "local";
const TREASURY = getAddress("0x00000000000000000000000000000000000a11ce");
/** Where a payment's money left its deposit address: a collection or a refund. */
export type Kind = "collection" | "refund";

export interface ScenarioSettings {
  strategy: GasStrategy;
  /** SWEEP_BATCH_SIZE (eip7702 only). */
  batch: number;
  /** Intents created; `refunds` of them are underpaid, the rest paid exactly. */
  payments: number;
  refunds: number;
  feeBps: number;
  ttlSeconds: number;
  maxWaitMs: number;
  blockTimeSeconds: number;
  databaseUrl: string | undefined;
  log: Logger;
  signal: AbortSignal;
}

/** One payment's move out of its deposit address, as the chain shows it. */
export interface PaymentCost {
  kind: Kind;
  /** Gas of its own transactions plus its share (by sweep) of each batch it was in. */
  gas: number;
  /** Its own transactions plus its fraction of each batch transaction. */
  txs: number;
  /** Seconds from the intent's deadline to its collection or refund being confirmed. */
  seconds: number;
}

export interface ScenarioResult {
  settings: ScenarioSettings;
  anvilVersion: string;
  databaseLabel: string;
  payments: PaymentCost[];
  /** The sweeper deployment's gas (eip7702: once per chain), not counted per payment. */
  deployGas: number;
  /** Sweeps per batch transaction, in the order they were sent. */
  batchSizes: number[];
  /** Each sweepMany as the chain shows it: its sweeps, the authorizations it carried, its gas. */
  batchTxs: Array<{ sweeps: number; authorizations: number; gas: number }>;
  /** Every transaction the gateway recorded (chain_txs), by purpose. */
  txsByPurpose: Record<string, number>;
  /** The same count and gas found by scanning every block for the gas wallet and deposit addresses. */
  scanned: { txs: number; gas: number };
  recorded: { txs: number; gas: number };
  /** Seconds between the first intent's deadline and the last one's: how spread the work arrived. */
  deadlineSpread: number;
  /** Native coin (wei) on the deposit addresses after the run: their sum, and how many hold any. */
  nativeLeft: { total: bigint; addresses: number; holding: number };
}

/**
 * One scenario on a chain and a database of its own: N intents through the HTTP API, paid from
 * anvil's payer (M of them short), then waited for until every collection and refund is
 * confirmed, and measured from the chain: receipts of the gateway's transactions, the native
 * balances of the deposit addresses, and a scan of every block as a check on chain_txs.
 */
export async function runScenario(
  s: ScenarioSettings,
  addCleanup: AddCleanup,
): Promise<ScenarioResult> {
  const database = await openBenchDatabase(s.databaseUrl, addCleanup);
  const chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: s.blockTimeSeconds,
    log: s.log,
  });
  addCleanup("stop anvil", () => chain.stop());
  const transport = http(chain.rpcUrl);
  const client = createPublicClient({ chain: anvil, transport, pollingInterval: 100 });
  const anvilVersion = await client.request({ method: "web3_clientVersion" }).catch(() => "?");

  const { config } = benchGatewayConfig(database.dataDir, {
    PAYMENT_TTL_SECONDS: s.ttlSeconds,
    TREASURY_INTERVAL_MS: 100,
    SWEEP_BATCH_SIZE: s.batch,
    SWEEP_MAX_WAIT_MS: s.maxWaitMs,
  });
  // A passphrase of its own: without one the test mnemonic is anvil's, and the deposit addresses
  // would be anvil's funded accounts, which need no top-up and already hold coin.
  const seed = mnemonicToSeedSync(TEST_MNEMONIC, "treasury-bench");
  const wallets = createWallets(seed);
  // What an operator must do before refunds and collections can move: fund the gas wallet.
  await createTestClient({ mode: "anvil", chain: anvil, transport }).setBalance({
    address: wallets.gasWallet().address,
    value: parseEther("100"),
  });
  const local: RegisteredChain = {
    key: CHAIN_KEY,
    evmChainId: chain.evmChainId,
    name: "Anvil",
    tokens: [{ symbol: "USDT", address: chain.tokenAddress, decimals: 6 }],
    rpcUrls: [chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
    gasStrategy: s.strategy,
  };
  const gateway = await startGateway({
    config,
    log: s.log,
    seed,
    database: database.database,
    extraChains: [local],
    settleIntervalMs: 100,
  });
  addCleanup("stop gateway", () => gateway.stop());

  const tenant = await createTestTenant(gateway.services.tenancy, { chain: CHAIN_KEY });
  await gateway.services.treasurySettings.setTreasury(tenant.orgId, TREASURY);
  await gateway.services.treasurySettings.setFee(tenant.orgId, s.feeBps);

  const createIntent = async () => {
    const res = await fetch(`${gateway.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
    });
    const body = (await res.json()) as {
      data?: { payment_intent_id: string; payment_address: Address; crypto_amount: string };
    };
    if (res.status !== 200 || !body.data)
      throw new Error(`creating an intent: HTTP ${res.status} ${JSON.stringify(body)}`);
    return {
      id: body.data.payment_intent_id,
      address: getAddress(body.data.payment_address),
      amount: parseUnits(body.data.crypto_amount, 6),
    };
  };
  // One at a time, as the tests do: ten at once on PGlite once stalled the gateway long enough to
  // lose every lease, and no sweep was confirmed within the bench's 180 s (see docs/benchmarks.md).
  const intents: Array<{ id: string; address: Address; amount: bigint }> = [];
  for (let i = 0; i < s.payments; i++) intents.push(await createIntent());
  // M spread evenly are paid a third (insufficient, refunded), the rest exactly (collected).
  const underpaid = new Set(
    Array.from({ length: s.refunds }, (_, k) => Math.floor((k * s.payments) / s.refunds)),
  );
  const payer = createPayer(chain);
  const raws = await payer.sign(
    intents.map((it, i) => ({
      to: it.address,
      value: underpaid.has(i) ? it.amount / 3n : it.amount,
    })),
  );
  const paid: Hex[] = [];
  for (const raw of raws) paid.push(await payer.send(raw));
  for (const hash of paid) {
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`payment ${hash} reverted`);
  }

  const db = database.database.db;
  const ids = intents.map((it) => it.id);
  await pollUntil(s.signal, 180_000, async () => {
    const rows = await sql<{ kind: Kind; state: string; error: string | null }>`
      select 'collection' as kind, state, error from collections where payment_intent_id in (${sql.join(ids)})
      union all
      select 'refund' as kind, state, error from refunds where payment_intent_id in (${sql.join(ids)})`
      .execute(db)
      .then((r) => r.rows);
    const failed = rows.find((r) => r.state === "failed");
    if (failed) throw new StopPolling(`a ${failed.kind} failed: ${failed.error}`);
    const done = rows.filter((r) => r.state === "confirmed");
    if (done.length < s.payments)
      return `${done.length} of ${s.payments} collections and refunds confirmed`;
    // A transaction the gateway still has in flight would be missing from the figures.
    const { n } = await db
      .selectFrom("chain_txs")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("state", "in", ["signed", "broadcast"])
      .executeTakeFirstOrThrow();
    return Number(n) === 0 ? true : `${n} gateway transactions not mined yet`;
  });

  return {
    settings: s,
    anvilVersion,
    databaseLabel: database.label,
    ...(await measure(client, db, intents, wallets.gasWallet().address)),
  };
}

/** Thrown inside a poll: stop waiting, this will not come. */
class StopPolling extends Error {}

/** Asks `check` every 250 ms until it answers true; its last answer is the timeout's message. */
async function pollUntil(
  signal: AbortSignal,
  timeoutMs: number,
  check: () => Promise<true | string>,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    signal.throwIfAborted();
    const answer = await check();
    if (answer === true) return;
    last = answer;
    if (Date.now() > until) throw new Error(`gave up after ${timeoutMs / 1000} s: ${last}`);
    await sleep(250, undefined, { signal });
  }
}

async function measure(
  client: PublicClient,
  db: Kysely<Database>,
  intents: Array<{ id: string; address: Address }>,
  gasWallet: Address,
): Promise<Omit<ScenarioResult, "settings" | "anvilVersion" | "databaseLabel">> {
  const txs = await db
    .selectFrom("chain_txs")
    .select(["id", "idempotency_key", "purpose", "tx_hash", "state"])
    .execute();
  // Gas as the chain reports it, not as the gateway recorded it.
  const gasOf = new Map<number, number>();
  for (const tx of txs) {
    if (tx.state !== "mined" && tx.state !== "confirmed")
      throw new Error(`chain tx ${tx.idempotency_key} is ${tx.state}`);
    const receipt = await client.getTransactionReceipt({ hash: tx.tx_hash as Hex });
    gasOf.set(tx.id, Number(receipt.gasUsed));
  }
  const byKey = new Map(txs.map((t) => [t.idempotency_key, t]));
  const topups = await db.selectFrom("gas_topups").select(["chain_tx_id", "for_key"]).execute();
  const sweeps = await db
    .selectFrom("sweeps")
    .innerJoin("sweep_batches", "sweep_batches.id", "sweeps.batch_id")
    .select(["sweeps.idempotency_key", "sweep_batches.id as batch_id", "sweep_batches.chain_tx_id"])
    .execute();
  const perBatch = new Map<number, number>();
  for (const sw of sweeps) perBatch.set(sw.batch_id, (perBatch.get(sw.batch_id) ?? 0) + 1);

  // Each payment's transfer keys: the decision keys collections.ts and refunds.ts send under.
  const { rows: moves } = await sql<{
    id: string;
    kind: Kind;
    key: string;
    seconds: number;
  }>`
    select c.payment_intent_id as id, 'collection' as kind, k.key,
           extract(epoch from (c.updated_at - i.payment_deadline))::float8 as seconds
      from collections c
      join payment_intents i on i.id = c.payment_intent_id
      cross join lateral (values ('collect:' || c.payment_intent_id), ('collect-fee:' || c.payment_intent_id)) k(key)
    union all
    select r.payment_intent_id, 'refund', 'refund:' || r.chain_id || ':' || lower(r.tx_hash) || ':' || r.log_index,
           extract(epoch from (r.updated_at - i.payment_deadline))::float8
      from refunds r
      join payment_intents i on i.id = r.payment_intent_id`.execute(db);

  const { rows: spread } = await sql<{ seconds: number }>`
    select extract(epoch from (max(payment_deadline) - min(payment_deadline)))::float8 as seconds
      from payment_intents`.execute(db);

  const payments = new Map<string, PaymentCost>();
  for (const m of moves) {
    const p = payments.get(m.id) ?? { kind: m.kind, gas: 0, txs: 0, seconds: Number(m.seconds) };
    payments.set(m.id, p);
    const own = byKey.get(m.key);
    if (own) {
      p.gas += gasOf.get(own.id) ?? 0;
      p.txs += 1;
    }
    for (const t of topups.filter((t) => t.for_key === m.key)) {
      p.gas += gasOf.get(Number(t.chain_tx_id)) ?? 0;
      p.txs += 1;
    }
    for (const sw of sweeps.filter((sw) => sw.idempotency_key === m.key)) {
      if (sw.chain_tx_id === null) throw new Error(`sweep ${m.key} has no batch transaction`);
      const share = perBatch.get(sw.batch_id) ?? 1;
      p.gas += (gasOf.get(Number(sw.chain_tx_id)) ?? 0) / share;
      p.txs += 1 / share;
    }
  }
  const attributed = new Set<number>([
    ...txs.filter((t) => moves.some((m) => m.key === t.idempotency_key)).map((t) => t.id),
    ...topups.map((t) => Number(t.chain_tx_id)),
    ...sweeps.flatMap((sw) => (sw.chain_tx_id === null ? [] : [Number(sw.chain_tx_id)])),
  ]);
  const deploys = txs.filter((t) => t.purpose === "deploy_sweeper");
  const stray = txs.filter((t) => !attributed.has(t.id) && t.purpose !== "deploy_sweeper");
  if (stray.length > 0)
    throw new Error(
      `transactions not attributed to a payment: ${stray.map((t) => `${t.purpose} ${t.idempotency_key}`).join(", ")}`,
    );

  const txsByPurpose: Record<string, number> = {};
  for (const t of txs) txsByPurpose[t.purpose] = (txsByPurpose[t.purpose] ?? 0) + 1;
  const batchSizes = [...perBatch.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
  const batchTxs: ScenarioResult["batchTxs"] = [];
  for (const [batchId, n] of [...perBatch.entries()].sort(([a], [b]) => a - b)) {
    const txId = Number(sweeps.find((sw) => sw.batch_id === batchId)?.chain_tx_id);
    const hash = txs.find((t) => t.id === txId)?.tx_hash as Hex;
    const tx = await client.getTransaction({ hash });
    batchTxs.push({
      sweeps: n,
      authorizations: tx.authorizationList?.length ?? 0,
      gas: gasOf.get(txId) ?? 0,
    });
  }

  let total = 0n;
  let holding = 0;
  for (const it of intents) {
    const balance = await client.getBalance({ address: it.address });
    total += balance;
    if (balance > 0n) holding += 1;
  }

  return {
    payments: [...payments.values()],
    deployGas: deploys.reduce((sum, t) => sum + (gasOf.get(t.id) ?? 0), 0),
    batchSizes,
    batchTxs,
    txsByPurpose,
    scanned: await scanChain(
      client,
      new Set([gasWallet, ...intents.map((it) => it.address)].map((a) => a.toLowerCase())),
    ),
    recorded: { txs: txs.length, gas: [...gasOf.values()].reduce((a, b) => a + b, 0) },
    nativeLeft: { total, addresses: intents.length, holding },
    deadlineSpread: Number(spread[0]?.seconds ?? Number.NaN),
  };
}

/**
 * Every transaction in every block sent by the gateway's keys (the gas wallet and the deposit
 * addresses): the check that chain_txs left nothing out. The payer and anvil's deployer are not
 * among them.
 */
async function scanChain(
  client: PublicClient,
  senders: Set<string>,
): Promise<{ txs: number; gas: number }> {
  const head = await client.getBlockNumber();
  let txs = 0;
  let gas = 0;
  for (let n = 0n; n <= head; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (!senders.has(tx.from.toLowerCase())) continue;
      txs += 1;
      gas += Number((await client.getTransactionReceipt({ hash: tx.hash })).gasUsed);
    }
  }
  return { txs, gas };
}
